/**
 * Typed provider errors. Every SDK error is mapped to one ProviderError
 * whose `kind` routing and the agent runner act on, and whose `userNotice`
 * is the sentence shown in the chat.
 */
import { MosaicError } from '../errors.ts';
import type { ProviderName } from './types.ts';

export const PROVIDER_ERROR_KINDS = ['auth', 'rate_limit', 'unavailable', 'context_length', 'bad_request', 'timeout', 'cancelled', 'malformed_stream'] as const;
export type ProviderErrorKind = (typeof PROVIDER_ERROR_KINDS)[number];

const LABEL: Record<ProviderName, string> = {
  anthropic: 'Anthropic',
  openai: 'OpenAI',
  openrouter: 'OpenRouter',
  zai: 'Z.ai',
  ollama: 'Ollama',
};

export const providerLabel = (provider: ProviderName): string => LABEL[provider];

const HTTP_STATUS: Record<ProviderErrorKind, number> = {
  auth: 502,
  rate_limit: 429,
  unavailable: 503,
  context_length: 400,
  bad_request: 502,
  timeout: 504,
  cancelled: 499,
  malformed_stream: 502,
};

/** Kinds that another attempt may cure, so the adapter retries them (before the first event only). */
export const TRANSIENT_KINDS: ReadonlySet<ProviderErrorKind> = new Set(['rate_limit', 'unavailable']);

function notice(kind: ProviderErrorKind, provider: ProviderName, retryAfterMs?: number): string {
  const p = LABEL[provider];
  switch (kind) {
    case 'auth':
      return `${p} refused the API key (missing, invalid, expired or out of credit). Check the key in the config or your own provider credentials.`;
    case 'rate_limit':
      return retryAfterMs !== undefined
        ? `${p} is rate-limiting requests; try again in about ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`
        : `${p} is rate-limiting requests; try again shortly.`;
    case 'unavailable':
      return `${p} is unavailable or overloaded right now; try again shortly or pick another model.`;
    case 'context_length':
      return `The conversation is too long for this ${p} model's context window. Start a new conversation or pick a model with a larger context.`;
    case 'bad_request':
      return `${p} rejected the request (for example an unknown model or an unsupported option).`;
    case 'timeout':
      return `${p} stopped answering and the request was cut off after a timeout.`;
    case 'cancelled':
      return 'The request was cancelled.';
    case 'malformed_stream':
      return `${p} sent a broken answer stream; the answer may be incomplete.`;
  }
}

export interface ProviderErrorOptions {
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
  /** The provider's own error code or type (e.g. `overloaded_error`, `context_length_exceeded`, `1261`). */
  providerCode?: string;
}

export class ProviderError extends MosaicError {
  readonly kind: ProviderErrorKind;
  readonly provider: ProviderName;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly providerCode: string | undefined;

  constructor(provider: ProviderName, kind: ProviderErrorKind, message: string, options: ProviderErrorOptions = {}) {
    super(`provider_${kind}`, `${LABEL[provider]}: ${message}`, {
      httpStatus: HTTP_STATUS[kind],
      retryable: TRANSIENT_KINDS.has(kind) || kind === 'timeout',
      userNotice: notice(kind, provider, options.retryAfterMs),
      details: {
        provider,
        kind,
        ...(options.status !== undefined ? { status: options.status } : {}),
        ...(options.retryAfterMs !== undefined ? { retryAfterMs: options.retryAfterMs } : {}),
        ...(options.providerCode !== undefined ? { providerCode: options.providerCode } : {}),
      },
      cause: options.cause,
    });
    this.name = 'ProviderError';
    this.kind = kind;
    this.provider = provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.providerCode = options.providerCode;
  }

  get transient(): boolean {
    return TRANSIENT_KINDS.has(this.kind);
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}

/** Reads `retry-after-ms`, `retry-after` (seconds or HTTP date) from response headers. */
export function parseRetryAfter(headers: Headers | Record<string, string | undefined> | undefined | null, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const get = (name: string): string | undefined | null =>
    typeof (headers as Headers).get === 'function' ? (headers as Headers).get(name) : (headers as Record<string, string | undefined>)[name];
  const ms = get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get('retry-after');
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.max(0, Math.round(Number(ra) * 1000));
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const CONTEXT_PATTERNS = [
  /context[_ ]length/i,
  /context window/i,
  /prompt is too long/i,
  /maximum context/i,
  /too many tokens/i,
  /exceeds? (the )?(max(imum)?|context)/i,
  /input length exceeds/i,
  /prompt exceeds max length/i,
  /reduce the length/i,
];

export function looksLikeContextLength(message: string | undefined, code?: string): boolean {
  if (code && /context_length|1261|model_context_window_exceeded/i.test(code)) return true;
  return !!message && CONTEXT_PATTERNS.some((p) => p.test(message));
}

/** Maps an HTTP status (and the provider's message/code) to a kind. */
export function kindForStatus(status: number, message?: string, code?: string): ProviderErrorKind {
  if (status === 401 || status === 403 || status === 402) return 'auth';
  if (status === 429) return 'rate_limit';
  if (status === 408) return 'timeout';
  if (status === 413) return 'context_length';
  if (status >= 500) return 'unavailable';
  if (looksLikeContextLength(message, code)) return 'context_length';
  return 'bad_request';
}

export function isAbortError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; constructor?: { name?: string } };
  return e.name === 'AbortError' || e.name === 'APIUserAbortError' || e.constructor?.name === 'APIUserAbortError';
}

/** Network failures that never reached the provider (refused, reset, DNS). */
export function isNetworkError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; message?: string; code?: string; cause?: unknown };
  if (e.name === 'APIConnectionError' || e.constructor?.name === 'APIConnectionError') return true;
  if (e.name === 'TypeError' && /fetch failed|terminated|network/i.test(e.message ?? '')) return true;
  if (typeof e.code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EPIPE|ETIMEDOUT|UND_ERR_\w+)$/.test(e.code)) return true;
  return e.cause !== undefined && e.cause !== err && isNetworkError(e.cause);
}
