/**
 * A socket client for the live tests: the `ws` package against a running
 * gateway, every frame it receives kept in order, requests matched to
 * their ack or error by id, waits on conditions (never on fixed times).
 */
import WebSocket from 'ws';

export interface Frame {
  type: string;
  [key: string]: unknown;
}

export interface MessageFrame extends Frame {
  type: 'message:new';
  conversationId: string;
  seq: number;
  message: { id: string; content: string; replyToId?: string; metadata: Record<string, unknown> & { role: string } };
}

export async function waitFor<T>(what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let nextId = 0;

export class TestSocket {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  /** Opens a socket; resolves once the hello frame is in. Rejects with the HTTP status of a refused upgrade. */
  static async open(baseUrl: string, auth: { token?: string; ticket?: string }): Promise<TestSocket> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/socket${auth.ticket ? `?ticket=${encodeURIComponent(auth.ticket)}` : ''}`;
    const ws = new WebSocket(url, { headers: auth.token ? { authorization: `Bearer ${auth.token}` } : {} });
    const socket = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body: body ? JSON.parse(body) : null })));
      });
      ws.once('error', reject);
    });
    await waitFor('hello', () => socket.frames.find((f) => f.type === 'hello'));
    return socket;
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends a frame with a fresh id and waits for the ack (or error) answering it. */
  async request(frame: Record<string, unknown>): Promise<Frame> {
    const id = `r${++nextId}`;
    this.send({ ...frame, id });
    return waitFor(`the answer to ${String(frame.type)} ${id}`, () => this.frames.find((f) => (f.type === 'ack' || f.type === 'error' || f.type === 'pong') && f.id === id));
  }

  of<T extends Frame = Frame>(type: string, conversationId?: string): T[] {
    return this.frames.filter((f) => f.type === type && (conversationId === undefined || f.conversationId === conversationId)) as T[];
  }

  messages(conversationId?: string): MessageFrame[] {
    return this.of<MessageFrame>('message:new', conversationId);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The text an answer streamed: its start's text, then its deltas in seq order (each seq once). */
export function streamedText(frames: Frame[], replyId: string): { text: string; seqs: number[] } {
  const started = frames.filter((f) => f.type === 'answer:started' && f.replyId === replyId).at(-1);
  const from = (started?.seq as number | undefined) ?? 0;
  const deltas = frames.filter((f) => f.type === 'answer:delta' && f.replyId === replyId && (f.seq as number) > from);
  return { text: `${(started?.text as string | undefined) ?? ''}${deltas.map((d) => (d.text as string | undefined) ?? '').join('')}`, seqs: deltas.map((d) => d.seq as number) };
}
