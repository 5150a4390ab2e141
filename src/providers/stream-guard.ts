/**
 * The retry, timeout and cancellation policy shared by every adapter.
 *
 * - Transient errors (rate limit, unavailable, network) are retried with
 *   exponential backoff up to `maxRetries` times — but only while nothing has
 *   been yielded: two attempts are never spliced into one answer.
 * - A stream that yields nothing for `streamIdleTimeoutMs` (the wait for the
 *   first byte included) is cut and reported as a `timeout` ProviderError.
 * - The whole request is bounded by `requestTimeoutMs`.
 * - The caller's AbortSignal stops the stream at once (`cancelled`).
 * The SDKs' own retries are turned off so this is the only policy.
 */
import { ProviderError, isProviderError } from './errors.ts';
import { anySignal } from './base.ts';
import type { ChatEvent, ChatRequest, ProviderName } from './types.ts';

/** Yielded by an adapter's attempt for any raw provider event that carries nothing for the caller (ping, role chunk). Resets the idle timer; never passed on. */
export interface Heartbeat { type: 'heartbeat' }
export const HEARTBEAT: Heartbeat = Object.freeze({ type: 'heartbeat' });

export interface BackoffOptions {
  /** First retry delay; doubles each retry. */
  baseMs: number;
  /** Longest computed delay. */
  maxMs: number;
  /** A rate limit asking to wait longer than this is not retried inside the adapter (routing may fall back instead). */
  maxRetryAfterMs: number;
  /** Spread delays randomly between 50 % and 100 % of the computed value. */
  jitter: boolean;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 8000, maxRetryAfterMs: 30_000, jitter: true };

export interface ChatOutcome {
  provider: ProviderName;
  /** The model the request asked for. */
  model?: string;
  ok: boolean;
  latencyMs: number;
  /** Attempts made (1 + retries). */
  attempts: number;
  error?: ProviderError;
  /** True when the request used a user's own credential rather than the system key. */
  userCredential: boolean;
  /** The user whose own credential it was (when known). */
  credentialOwner?: string;
}

export interface StreamPolicy {
  maxRetries: number;
  streamIdleTimeoutMs: number;
  requestTimeoutMs: number;
  backoff?: Partial<BackoffOptions>;
  /** Injected for tests. Resolves after `ms`, rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told before each retry (delay chosen, error that caused it). */
  onRetry?: (info: { provider: ProviderName; attempt: number; delayMs: number; error: ProviderError }) => void;
  /** Told once per request when it ends with an answer or an error (not when the caller stops reading). */
  onOutcome?: (outcome: ChatOutcome) => void;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Delay before retry number `retry` (0-based), or null when the provider asks to wait too long. */
export function backoffDelay(retry: number, retryAfterMs: number | undefined, options: BackoffOptions, random = Math.random): number | null {
  if (retryAfterMs !== undefined && retryAfterMs > options.maxRetryAfterMs) return null;
  let delay = Math.min(options.maxMs, options.baseMs * 2 ** retry);
  if (options.jitter) delay = Math.round(delay * (0.5 + random() * 0.5));
  return retryAfterMs !== undefined ? Math.max(delay, retryAfterMs) : delay;
}

type Why = 'idle' | 'deadline' | 'cancel';
const STOPPED = Symbol('stopped');

export interface GuardOptions {
  provider: ProviderName;
  model?: string;
  policy: StreamPolicy;
  signal?: AbortSignal;
  userCredential?: boolean;
  credentialOwner?: string;
  /** One attempt: opens the provider stream with `signal` and yields events. */
  attempt: (signal: AbortSignal) => AsyncIterable<ChatEvent | Heartbeat>;
  /** Turns anything an attempt throws into a ProviderError. */
  mapError: (err: unknown) => ProviderError;
}

/** guardedStream for one chat request: the caller's signal and whose key it uses come from the request. */
export function guardedChat(provider: ProviderName, policy: StreamPolicy, request: ChatRequest, attempt: GuardOptions['attempt'], mapError: GuardOptions['mapError']): AsyncGenerator<ChatEvent> {
  const own = request.credential?.source === 'user';
  return guardedStream({
    provider,
    model: request.model,
    policy,
    ...(request.signal ? { signal: request.signal } : {}),
    userCredential: own,
    ...(own && request.credential?.userId ? { credentialOwner: request.credential.userId } : {}),
    attempt,
    mapError,
  });
}

export async function* guardedStream(options: GuardOptions): AsyncGenerator<ChatEvent> {
  const { provider, policy } = options;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...policy.backoff };
  const sleep = policy.sleep ?? abortableSleep;
  const started = Date.now();
  const outer = options.signal;
  const deadlineAt = started + policy.requestTimeoutMs;
  let attempts = 0;
  const report = (ok: boolean, error?: ProviderError) =>
    policy.onOutcome?.({
      provider,
      ...(options.model !== undefined ? { model: options.model } : {}),
      ok,
      latencyMs: Date.now() - started,
      attempts,
      userCredential: !!options.userCredential,
      ...(options.credentialOwner ? { credentialOwner: options.credentialOwner } : {}),
      ...(error ? { error } : {}),
    });

  if (outer?.aborted) {
    const err = new ProviderError(provider, 'cancelled', 'request cancelled before it started');
    report(false, err);
    throw err;
  }

  for (let retry = 0; ; retry++) {
    attempts++;
    const ctl = new AbortController();
    let why: Why | null = null;
    const stop = (reason: Why) => {
      if (why === null) why = reason;
      ctl.abort(new Error(`stream stopped: ${reason}`));
    };
    const onOuterAbort = () => stop('cancel');
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const deadlineTimer = setTimeout(() => stop('deadline'), Math.max(0, deadlineAt - Date.now()));
    let yielded = false;
    let finished = false;
    let iterator: AsyncIterator<ChatEvent | Heartbeat> | undefined;
    try {
      iterator = options.attempt(ctl.signal)[Symbol.asyncIterator]();
      for (;;) {
        const result = await nextWithin(iterator, policy.streamIdleTimeoutMs, ctl.signal, () => stop('idle'));
        if (result.done) break;
        if (result.value.type === 'heartbeat') continue;
        yielded = true;
        yield result.value;
      }
      finished = true;
      report(true);
      return;
    } catch (err) {
      finished = true;
      const pe = stoppedError(provider, why, policy, err) ?? (isProviderError(err) ? err : options.mapError(err));
      const canRetry = !yielded && pe.transient && retry < policy.maxRetries && !outer?.aborted;
      const delay = canRetry ? backoffDelay(retry, pe.retryAfterMs, backoff) : null;
      if (delay === null || Date.now() + delay >= deadlineAt) {
        report(false, pe);
        throw pe;
      }
      policy.onRetry?.({ provider, attempt: retry + 1, delayMs: delay, error: pe });
      try {
        await sleep(delay, outer);
      } catch {
        const cancelled = new ProviderError(provider, 'cancelled', 'request cancelled while waiting to retry', { cause: pe });
        report(false, cancelled);
        throw cancelled;
      }
    } finally {
      clearTimeout(deadlineTimer);
      outer?.removeEventListener('abort', onOuterAbort);
      if (!finished) {
        // The caller stopped reading (break/return): close the provider stream.
        ctl.abort(new Error('stream closed by the caller'));
      }
      if (!finished || why !== null) void iterator?.return?.().catch(() => undefined);
    }
  }
}

function stoppedError(provider: ProviderName, why: Why | null, policy: StreamPolicy, cause: unknown): ProviderError | null {
  if (why === 'idle') return new ProviderError(provider, 'timeout', `the stream sent nothing for ${policy.streamIdleTimeoutMs} ms and was cut`, { cause });
  if (why === 'deadline') return new ProviderError(provider, 'timeout', `the request took longer than ${policy.requestTimeoutMs} ms and was cut`, { cause });
  if (why === 'cancel') return new ProviderError(provider, 'cancelled', 'request cancelled', { cause });
  return null;
}

/** iterator.next(), but rejects when nothing comes within `ms` or when `signal` aborts. */
function nextWithin<T>(iterator: AsyncIterator<T>, ms: number, signal: AbortSignal, onIdle: () => void): Promise<IteratorResult<T>> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(STOPPED);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(STOPPED);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      onIdle();
      reject(STOPPED);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(
      (v) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export interface CallGuardOptions<T> {
  provider: ProviderName;
  policy: StreamPolicy;
  signal?: AbortSignal;
  /** One attempt: makes the request with `signal`. */
  call: (signal: AbortSignal) => Promise<T>;
  mapError: (err: unknown) => ProviderError;
}

/**
 * The same policy for a one-shot request (embeddings): transient failures
 * retried with backoff up to `maxRetries`, the whole call bounded by
 * `requestTimeoutMs`, the caller's signal cancelling at once. Without it a
 * momentary network error would silently store a memory with no vector.
 */
export async function guardedCall<T>(options: CallGuardOptions<T>): Promise<T> {
  const { provider, policy } = options;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...policy.backoff };
  const sleep = policy.sleep ?? abortableSleep;
  const outer = options.signal;
  const deadlineAt = Date.now() + policy.requestTimeoutMs;
  for (let retry = 0; ; retry++) {
    if (outer?.aborted) throw new ProviderError(provider, 'cancelled', 'request cancelled');
    const deadline = AbortSignal.timeout(Math.max(1, deadlineAt - Date.now()));
    try {
      return await options.call(anySignal([deadline, outer])!);
    } catch (err) {
      const pe = outer?.aborted
        ? new ProviderError(provider, 'cancelled', 'request cancelled', { cause: err })
        : deadline.aborted
          ? new ProviderError(provider, 'timeout', `the request took longer than ${policy.requestTimeoutMs} ms and was cut`, { cause: err })
          : isProviderError(err) ? err : options.mapError(err);
      const delay = pe.transient && retry < policy.maxRetries ? backoffDelay(retry, pe.retryAfterMs, backoff) : null;
      if (delay === null || Date.now() + delay >= deadlineAt) throw pe;
      policy.onRetry?.({ provider, attempt: retry + 1, delayMs: delay, error: pe });
      try {
        await sleep(delay, outer);
      } catch {
        throw new ProviderError(provider, 'cancelled', 'request cancelled while waiting to retry', { cause: pe });
      }
    }
  }
}
