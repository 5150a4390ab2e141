/**
 * The socket to /api/socket (docs/live.md) for the terminal: a bearer token
 * on the upgrade. It reconnects by itself (growing waits with jitter; at
 * once after a server restart's 1012) and resubscribes every followed
 * conversation with `afterSeq` = the newest seq it holds, so nothing is
 * missed or shown twice. A refused token (401 on the upgrade, close 4001)
 * ends it: no reconnect.
 */
import type WebSocket from 'ws';
import { ClientError, EXIT, unreachable } from './errors.ts';
import type { Frame } from './types.ts';

const OPEN = 1;

// The ws package is loaded when the first connection opens, not with this module: the TUI draws its first frame meanwhile.
let wsModule: Promise<typeof WebSocket> | null = null;
const loadWs = () => (wsModule ??= import('ws').then((m) => m.default));

export type LiveStatus = 'connecting' | 'open' | 'reconnecting' | 'ended';

export class LiveError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
}

export interface LiveOptions {
  /** Keep reconnecting after a failure (the TUI); the first failure is final otherwise (plain mode tries a few times). */
  persistent: boolean;
  onStatus?: (status: LiveStatus, detail?: string) => void;
}

export class LiveClient {
  status: LiveStatus = 'connecting';
  /** Why the connection ended, when it did. */
  endedBy: ClientError | null = null;
  private ws: WebSocket | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly followed = new Map<string, () => number | undefined>();
  private readonly listeners = new Set<(frame: Frame) => void>();
  private attempt = 0;
  private counter = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private firstOpen: { resolve(): void; reject(err: Error): void } | null = null;

  constructor(
    private readonly server: string,
    private readonly token: string,
    private readonly options: LiveOptions,
  ) {}

  /** Connects; resolves at the first hello (the TUI does not wait: it shows "connecting"). */
  start(): Promise<void> {
    this.stopped = false;
    const first = new Promise<void>((resolve, reject) => (this.firstOpen = { resolve, reject }));
    this.open();
    return first;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, 'client quit');
    this.ws = null;
  }

  on(listener: (frame: Frame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Follows a conversation now and after every reconnect. `lastSeq` is read
   * at each (re)subscribe: undefined subscribes without a replay (nothing
   * held yet beyond what REST returned), a number replays what came after it.
   */
  async follow(conversationId: string, lastSeq: () => number | undefined): Promise<Record<string, unknown> | null> {
    this.followed.set(conversationId, lastSeq);
    if (this.status === 'open') return this.subscribe(conversationId, lastSeq());
    return null;
  }

  unfollow(conversationId: string): void {
    if (!this.followed.delete(conversationId)) return;
    if (this.status === 'open') this.request({ type: 'unsubscribe', conversationId }).catch(() => undefined);
  }

  /** Sends a frame and waits for its ack (rejects with the error frame's code and message). */
  request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return Promise.reject(new LiveError('offline', 'not connected; reconnecting…'));
    const id = `t${++this.counter}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  private setStatus(status: LiveStatus, detail?: string): void {
    this.status = status;
    this.options.onStatus?.(status, detail);
  }

  private subscribe(conversationId: string, afterSeq: number | undefined): Promise<Record<string, unknown> | null> {
    return this.request({ type: 'subscribe', conversationId, ...(afterSeq !== undefined ? { afterSeq } : {}) }).then(
      (result) => {
        for (const l of this.listeners) l({ type: 'subscribed', conversationId, ...result });
        return result;
      },
      (err: LiveError) => {
        // Already followed on this socket (a race between follow and a reconnect): nothing to do.
        if (err.code === 'already_subscribed') return null;
        throw err;
      },
    );
  }

  private open(): void {
    loadWs().then(
      (Ws) => this.connect(Ws),
      (err: Error) => this.end(new ClientError(`the ws package could not be loaded: ${err.message}`)),
    );
  }

  private connect(Ws: typeof WebSocket): void {
    if (this.stopped) return;
    const url = `${this.server.replace(/^http/, 'ws')}/api/socket`;
    const ws = new Ws(url, { headers: { authorization: `Bearer ${this.token}` }, handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on('message', (data) => this.receive(ws, String(data)));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        let message = `${res.statusCode}`;
        try {
          message = (JSON.parse(body) as { error: { message: string } }).error.message;
        } catch {
          // The status says enough.
        }
        if (res.statusCode === 401) this.end(new ClientError(`the server refused the token (${message}): sign in again with \`mosaic login\``, EXIT.auth, 'unauthorized'));
        else this.closed(ws, 1006, `the server refused the connection: ${message}`);
      });
    });
    ws.on('error', (err: NodeJS.ErrnoException) => this.closed(ws, 1006, err.code ?? err.message));
    ws.on('close', (code, reason) => this.closed(ws, code, reason.toString()));
  }

  private receive(ws: WebSocket, data: string): void {
    if (ws !== this.ws) return;
    let frame: Frame;
    try {
      frame = JSON.parse(data) as Frame;
    } catch {
      return;
    }
    if (frame.type === 'hello') {
      this.attempt = 0;
      this.setStatus('open');
      this.firstOpen?.resolve();
      this.firstOpen = null;
      for (const [id, lastSeq] of this.followed) this.subscribe(id, lastSeq()).catch(() => undefined);
    } else if ((frame.type === 'ack' || frame.type === 'error' || frame.type === 'pong') && typeof frame.id === 'string' && this.pending.has(frame.id)) {
      const p = this.pending.get(frame.id)!;
      this.pending.delete(frame.id);
      if (frame.type === 'error') {
        const e = frame.error as { code: string; message: string };
        p.reject(new LiveError(e.code, e.message));
      } else p.resolve((frame.result as Record<string, unknown>) ?? {});
      return;
    }
    for (const l of this.listeners) l(frame);
  }

  private end(err: ClientError): void {
    this.endedBy = err;
    this.stopped = true;
    this.ws?.terminate();
    this.ws = null;
    this.rejectPending();
    this.setStatus('ended', err.message);
    this.firstOpen?.reject(err);
    this.firstOpen = null;
  }

  private rejectPending(): void {
    for (const p of this.pending.values()) p.reject(new LiveError('offline', 'the connection closed; reconnecting…'));
    this.pending.clear();
  }

  private closed(ws: WebSocket, code: number, why: string): void {
    if (ws !== this.ws) return;
    this.ws = null;
    ws.removeAllListeners('close');
    ws.on('error', () => undefined);
    this.rejectPending();
    if (this.stopped) return;
    if (code === 4001) return this.end(new ClientError(`the server ended the session (${why || 'token no longer valid'}): sign in again with \`mosaic login\``, EXIT.auth, 'unauthorized'));
    // Plain mode gives up after a few tries when it never got in; once in, it rides out a restart like the TUI.
    if (!this.options.persistent && this.firstOpen && this.attempt >= 2) return this.end(unreachable(this.server, why || `closed ${code}`));
    this.setStatus('reconnecting', why);
    const base = code === 1012 ? 250 : Math.min(5_000, 300 * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.open(), base / 2 + Math.random() * (base / 2));
  }
}
