/**
 * The socket to /api/socket (docs/live.md), signed in by the session cookie.
 * It reconnects by itself (growing waits with jitter, at once after a server
 * restart's 1012) and resubscribes every followed conversation with
 * `afterSeq` = the newest seq it holds, so nothing is missed or shown twice.
 * A 4001 close means the session ended: no reconnect.
 */
import { signal } from '@preact/signals';

export type LiveStatus = 'connecting' | 'open' | 'reconnecting' | 'ended';

export interface ServerFrame {
  type: string;
  id?: string | null;
  conversationId?: string;
  [key: string]: unknown;
}

interface Pending {
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
}

export class LiveError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class LiveClient {
  readonly status = signal<LiveStatus>('connecting');
  private ws: WebSocket | null = null;
  private readonly pending = new Map<string, Pending>();
  /** Followed conversations and how to read the newest seq held for each. */
  private readonly followed = new Map<string, () => number>();
  private readonly listeners = new Set<(frame: ServerFrame) => void>();
  private attempt = 0;
  private counter = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly onSessionEnded: () => void) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, 'signed out');
    this.ws = null;
  }

  on(listener: (frame: ServerFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Follows a conversation now and after every reconnect; `lastSeq` is read at each (re)subscribe. */
  async follow(conversationId: string, lastSeq: () => number): Promise<void> {
    this.followed.set(conversationId, lastSeq);
    if (this.status.value === 'open') await this.subscribe(conversationId, lastSeq());
  }

  unfollow(conversationId: string): void {
    if (!this.followed.delete(conversationId)) return;
    if (this.status.value === 'open') this.request({ type: 'unsubscribe', conversationId }).catch(() => undefined);
  }

  /** Sends a frame and waits for its ack (rejects with the error frame's code and message). */
  request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new LiveError('offline', 'not connected; reconnecting…'));
    const id = `w${++this.counter}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  private subscribe(conversationId: string, afterSeq: number): Promise<void> {
    return this.request({ type: 'subscribe', conversationId, afterSeq }).then(
      () => undefined,
      (err: LiveError) => {
        // Already followed on this socket (a race between follow and reconnect): nothing to do.
        if (err.code !== 'already_subscribed') throw err;
      },
    );
  }

  private open(): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/socket`);
    this.ws = ws;
    ws.onmessage = (e) => this.receive(ws, String(e.data));
    ws.onclose = (e) => this.closed(ws, e.code);
  }

  private receive(ws: WebSocket, data: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'hello') {
      this.attempt = 0;
      this.status.value = 'open';
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
    if (ws !== this.ws) return;
    for (const l of this.listeners) l(frame);
  }

  private closed(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const p of this.pending.values()) p.reject(new LiveError('offline', 'the connection closed; reconnecting…'));
    this.pending.clear();
    if (this.stopped) return;
    if (code === 4001) {
      this.status.value = 'ended';
      this.onSessionEnded();
      return;
    }
    this.status.value = 'reconnecting';
    const base = code === 1012 ? 250 : Math.min(10_000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.open(), base / 2 + Math.random() * (base / 2));
  }
}
