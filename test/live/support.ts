/**
 * A socket client for the live tests: the `ws` package against a running
 * gateway, every frame it receives kept in order, requests matched to
 * their ack or error by id, waits on conditions (never on fixed times).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
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
  static async open(baseUrl: string, auth: { token?: string; ticket?: string; headers?: Record<string, string> }): Promise<TestSocket> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/socket${auth.ticket ? `?ticket=${encodeURIComponent(auth.ticket)}` : ''}`;
    const ws = new WebSocket(url, { headers: { ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}), ...auth.headers } });
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

  /** Drops the connection without a closing handshake (cleanup, whatever state the socket is in). */
  terminate(): void {
    this.ws.terminate();
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

export interface SseEvent {
  id?: string;
  event: string;
  data: Frame;
}

/** An event stream read with fetch: every event kept, the last id as a browser would send it back. */
export class TestEventStream {
  readonly events: SseEvent[] = [];
  lastEventId: string | undefined;
  ended = false;
  status = 0;
  private readonly controller = new AbortController();

  static async open(url: string, headers: Record<string, string>): Promise<TestEventStream> {
    const stream = new TestEventStream();
    const res = await fetch(url, { headers, signal: stream.controller.signal });
    stream.status = res.status;
    if (res.status !== 200) {
      stream.ended = true;
      throw Object.assign(new Error(`event stream refused: ${res.status}`), { status: res.status, body: await res.json() });
    }
    void stream.read(res.body!);
    return stream;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of body) {
        text += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || !line.includes(':')) continue;
            const at = line.indexOf(':');
            fields[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, '');
          }
          if (fields.id !== undefined) this.lastEventId = fields.id;
          if (fields.data !== undefined) this.events.push({ ...(fields.id !== undefined ? { id: fields.id } : {}), event: fields.event ?? 'message', data: JSON.parse(fields.data) as Frame });
        }
      }
    } catch {
      // Aborted by close().
    }
    this.ended = true;
  }

  of(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  close(): void {
    this.controller.abort();
  }
}

/**
 * A socket client written by hand over TCP, for clients that misbehave:
 * after the handshake it reads nothing while told not to (a slow consumer;
 * a dead peer that never answers a ping). The `ws` client cannot play
 * these: it resumes reading by itself. While reading, it answers pings.
 */
export class RawClient {
  private received = Buffer.alloc(0);
  private parsedTo = -1;
  private close: { code: number; reason: string } | null = null;

  private constructor(private readonly socket: Socket) {}

  static async open(baseUrl: string, token: string): Promise<RawClient> {
    const url = new URL(baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(
      `GET /api/socket HTTP/1.1\r\nhost: ${url.host}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${randomBytes(16).toString('base64')}\r\nauthorization: Bearer ${token}\r\n\r\n`,
    );
    const client = new RawClient(socket);
    socket.on('data', (chunk: Buffer) => {
      client.received = Buffer.concat([client.received, chunk]);
      client.parse();
    });
    socket.on('error', () => undefined);
    await waitFor('the handshake and hello', () => client.received.includes('"hello"'));
    if (!client.received.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${client.received.toString()}`);
    return client;
  }

  /** A masked frame, as clients must send (text by default). */
  send(frame: Record<string, unknown> | Buffer, opcode = 0x1): void {
    const payload = Buffer.isBuffer(frame) ? frame : Buffer.from(JSON.stringify(frame));
    const mask = randomBytes(4);
    const header = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length]) : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Whether the bytes received so far contain this text. */
  saw(text: string): boolean {
    return this.received.includes(text);
  }

  /** Stops reading: the kernel buffers fill, then the server's. */
  stopReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** The close frame received, if any: its code and reason. */
  closeFrame(): { code: number; reason: string } | null {
    return this.close;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Walks the complete server frames received since the last call: answers pings, keeps the close. */
  private parse(): void {
    if (this.parsedTo < 0) {
      const head = this.received.indexOf('\r\n\r\n');
      if (head < 0) return;
      this.parsedTo = head + 4;
    }
    const data = this.received;
    for (;;) {
      const at = this.parsedTo;
      if (at + 2 > data.length) return;
      const opcode = data[at]! & 0x0f;
      let len = data[at + 1]! & 0x7f;
      let start = at + 2;
      if (len === 126) {
        if (at + 4 > data.length) return;
        len = data.readUInt16BE(at + 2);
        start = at + 4;
      } else if (len === 127) {
        if (at + 10 > data.length) return;
        len = Number(data.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (start + len > data.length) return;
      const payload = data.subarray(start, start + len);
      if (opcode === 0x9) this.send(Buffer.from(payload), 0xa);
      if (opcode === 0x8) this.close = { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() };
      this.parsedTo = start + len;
    }
  }
}
