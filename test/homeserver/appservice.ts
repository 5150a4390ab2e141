/**
 * The homeserver side of the Application Service API: pushing the events an
 * appservice is interested in as transactions (in order, one in flight,
 * retried with backoff under the same txnId), and the user / room-alias
 * queries and the ping the homeserver makes to the appservice. Every request
 * it makes and every answer it gets is checked against the spec.
 */
import type { AppserviceRegistration } from './auth.ts';
import type { SpecChecker, SpecViolation } from './spec-checker.ts';

export interface PusherOptions {
  /** First retry delay; doubles up to `retryMaxMs` (Synapse: 2 s → 512 s; tests want it fast). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** At most this many events per transaction (Synapse: 100). */
  maxEventsPerTransaction?: number;
  /** How long to wait for the appservice to answer one push. */
  requestTimeoutMs?: number;
  /** Send the hs_token as `Authorization: Bearer` (current spec) or as the legacy `access_token` query parameter. */
  hsTokenIn?: 'header' | 'query';
}

export interface PushRecord {
  txnId: string;
  body: { events: Record<string, unknown>[]; ephemeral?: Record<string, unknown>[] };
  /** HTTP status the appservice answered, or the network error. */
  outcome: number | string;
  /** True when a test control made the homeserver ignore a 200. */
  dropped?: boolean;
}

type Record_ = Record<string, unknown>;

export class AppservicePusher {
  private queue: { kind: 'event' | 'ephemeral'; data: Record_ }[] = [];
  private inFlight: { txnId: string; body: PushRecord['body'] } | undefined;
  private nextTxn = 1;
  private running = false;
  private stopped = false;
  private paused = false;
  private dropAnswers = 0;
  private dropWhen: ((body: PushRecord['body']) => boolean) | undefined;
  private duplicateWhen: ((body: PushRecord['body']) => boolean) | undefined;
  private unreachable = false;
  private duplicates = 0;
  private idleWaiters: (() => void)[] = [];
  private wakeRetry: (() => void) | undefined;
  /** Every attempt, in order: what tests inspect. */
  readonly attempts: PushRecord[] = [];
  private readonly opts: Required<PusherOptions>;

  constructor(
    readonly registration: AppserviceRegistration,
    private readonly checker: SpecChecker,
    private readonly record: (v: SpecViolation[]) => void,
    opts: PusherOptions = {},
  ) {
    this.opts = { retryInitialMs: 20, retryMaxMs: 500, maxEventsPerTransaction: 100, requestTimeoutMs: 5000, hsTokenIn: 'header', ...opts };
  }

  enqueue(event: Record_): void {
    this.queue.push({ kind: 'event', data: event });
    void this.pump();
  }

  enqueueEphemeral(data: Record_): void {
    const r = this.registration;
    if (!(r.receive_ephemeral || r['de.sorunome.msc2409.push_ephemeral'])) return;
    this.queue.push({ kind: 'ephemeral', data });
    void this.pump();
  }

  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; this.wakeRetry?.(); void this.pump(); }
  /**
   * The next `n` answers are ignored as if lost on the network, so the same
   * txnId is pushed again. With `when`, only answers to transactions it
   * accepts count (so unrelated traffic, e.g. typing, cannot take the drop).
   */
  dropNextAnswer(n = 1, when?: (body: PushRecord['body']) => boolean): void {
    this.dropAnswers += n;
    this.dropWhen = when;
  }
  /** The next `n` transactions (with `when`: that it accepts) are pushed twice (same txnId, same body). */
  duplicateNext(n = 1, when?: (body: PushRecord['body']) => boolean): void {
    this.duplicates += n;
    this.duplicateWhen = when;
  }
  /** Number transactions from 1 again, as a restarted homeserver may. */
  resetTxnIds(): void { this.nextTxn = 1; }
  /** Retry a failing push now instead of after its backoff. */
  retryNow(): void { this.wakeRetry?.(); }
  /** Test control: a network partition; every request to the appservice (push, query, ping) fails to connect until `cutOff(false)`. */
  cutOff(on = true): void { this.unreachable = on; if (!on) this.wakeRetry?.(); }

  get pending(): number { return this.queue.length + (this.inFlight ? this.inFlight.body.events.length + (this.inFlight.body.ephemeral?.length ?? 0) : 0); }

  /** Resolves once everything queued has been delivered (answered 200). */
  idle(): Promise<void> {
    if (!this.inFlight && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.wakeRetry?.();
  }

  private take(): { txnId: string; body: PushRecord['body'] } | undefined {
    if (this.queue.length === 0) return undefined;
    const batch = this.queue.splice(0, this.opts.maxEventsPerTransaction);
    const events = batch.filter((b) => b.kind === 'event').map((b) => b.data);
    const ephemeral = batch.filter((b) => b.kind === 'ephemeral').map((b) => b.data);
    const body: PushRecord['body'] = { events };
    if (ephemeral.length) body.ephemeral = ephemeral;
    return { txnId: String(this.nextTxn++), body };
  }

  private async pump(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      let delay = this.opts.retryInitialMs;
      while (!this.stopped && !this.paused) {
        this.inFlight ??= this.take();
        if (!this.inFlight) break;
        const { txnId, body } = this.inFlight;
        let times = 1;
        if (this.duplicates > 0 && (!this.duplicateWhen || this.duplicateWhen(body))) {
          times = 2;
          if (--this.duplicates === 0) this.duplicateWhen = undefined;
        }
        let ok = false;
        for (let i = 0; i < times; i++) ok = await this.push(txnId, body);
        if (ok) {
          this.inFlight = undefined;
          delay = this.opts.retryInitialMs;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wakeRetry = () => { clearTimeout(timer); resolve(); };
        });
        this.wakeRetry = undefined;
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
      }
    } finally {
      this.running = false;
    }
    if (!this.inFlight && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async push(txnId: string, body: PushRecord['body']): Promise<boolean> {
    const endpoint = 'PUT /_matrix/app/v1/transactions/{txnId}';
    const path = `/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`;
    const found = this.checker.findOperation('PUT', path)!;
    this.record(this.checker.checkRequest(found.op, found.params, new URLSearchParams(), body, 'application/json').map((v) => ({ ...v, kind: 'push' as const })));
    for (const e of [...body.events]) this.record(this.checker.checkEvent(endpoint, e, 'push'));
    const record: PushRecord = { txnId, body, outcome: 0 };
    this.attempts.push(record);
    const res = await this.request('PUT', path, body);
    if (typeof res === 'string') { record.outcome = res; return false; }
    record.outcome = res.status;
    if (res.status === 200) this.record(this.checker.checkResponse(found.op, 200, res.body).map((v) => ({ ...v, kind: 'push-response' as const })));
    if (res.status !== 200) return false;
    if (this.dropAnswers > 0 && (!this.dropWhen || this.dropWhen(body))) {
      this.dropAnswers--;
      if (this.dropAnswers === 0) this.dropWhen = undefined;
      record.dropped = true;
      return false;
    }
    return true;
  }

  /** One HTTP request to the appservice, with the hs_token; a string on network failure. */
  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown } | string> {
    const url = this.registration.url;
    if (!url) return 'M_URL_NOT_SET';
    if (this.unreachable) return 'M_CONNECTION_FAILED';
    const target = new URL(url.replace(/\/$/, '') + path);
    const headers: Record<string, string> = {};
    if (this.opts.hsTokenIn === 'query') target.searchParams.set('access_token', this.registration.hs_token);
    else headers.authorization = `Bearer ${this.registration.hs_token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.opts.requestTimeoutMs) });
      const text = await res.text();
      let parsed: unknown;
      try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
      return { status: res.status, body: parsed };
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'M_CONNECTION_TIMEOUT' : 'M_CONNECTION_FAILED';
    }
  }

  /** `GET /_matrix/app/v1/users/{userId}` or `/rooms/{alias}`: true when the appservice answered 200. */
  async query(kind: 'users' | 'rooms', id: string): Promise<boolean> {
    const path = `/_matrix/app/v1/${kind}/${encodeURIComponent(id)}`;
    const found = this.checker.findOperation('GET', path)!;
    this.record(this.checker.checkRequest(found.op, found.params, new URLSearchParams(), undefined, undefined).map((v) => ({ ...v, kind: 'push' as const })));
    const res = await this.request('GET', path);
    if (typeof res === 'string') return false;
    this.record(this.checker.checkResponse(found.op, res.status, res.body).map((v) => ({ ...v, kind: 'push-response' as const })));
    return res.status === 200;
  }
}
