/** What every adapter is built from, and small helpers they share. */
import type { Logger } from '../logging.ts';
import type { MosaicConfig } from '../config/schema.ts';
import { ProviderError, isAbortError, isNetworkError } from './errors.ts';
import type { StreamPolicy } from './stream-guard.ts';
import { findModel } from './catalogue.ts';
import { endpointRefusalIn, userEndpointFetch } from './user-endpoints.ts';
import type { Credential, HealthResult, ProviderName } from './types.ts';

export interface CloudProviderSettings {
  enabled: boolean;
  apiKey?: string | undefined;
  baseUrl: string;
}

export interface AdapterOptions<S> {
  settings: S;
  policy: StreamPolicy;
  logger: Logger;
  /** The only fetch requests to a user's own base URL go through (src/providers/user-endpoints.ts). */
  userEndpointFetch?: typeof fetch;
  /** Sent to providers that ask apps to name themselves (OpenRouter's attribution headers). */
  appUrl?: string;
  appName?: string;
}

export function policyFromConfig(config: MosaicConfig, extra: Partial<StreamPolicy> = {}): StreamPolicy {
  return {
    maxRetries: config.providers.maxRetries,
    streamIdleTimeoutMs: config.providers.streamIdleTimeoutMs,
    requestTimeoutMs: config.providers.requestTimeoutMs,
    ...extra,
  };
}

/** The SDK logger interface (debug/info/warn/error with a message first), fed into pino. */
export function sdkLogger(logger: Logger, provider: ProviderName) {
  const child = logger.child({ provider });
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, ...rest: unknown[]) => {
    child[level]({ details: rest.length ? rest.map((r) => (r instanceof Error ? r.message : r)) : undefined }, message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * The key a request uses: the user's own when given, else the system one.
 * A user's own base URL comes with `fetch`, the guarded one every such
 * request must use (no SDK default fetch ever reaches a user's address).
 */
export function resolveCredential(
  settings: CloudProviderSettings,
  credential: Credential | undefined,
  userEndpointFetch?: typeof fetch,
): { apiKey: string | undefined; baseUrl: string; user: boolean; fetch?: typeof fetch } {
  if (credential?.source === 'user') {
    if (!credential.baseUrl) return { apiKey: credential.apiKey, baseUrl: settings.baseUrl, user: true };
    return { apiKey: credential.apiKey, baseUrl: credential.baseUrl, user: true, fetch: userEndpointFetch ?? refuseUserEndpoints };
  }
  return { apiKey: credential?.apiKey ?? settings.apiKey, baseUrl: credential?.baseUrl ?? settings.baseUrl, user: false };
}

/** Without a guarded fetch wired in, a user's base URL is never called. */
export const refuseUserEndpoints = userEndpointFetch({ enabled: false, allowPrivateAddresses: false });

export function missingKey(provider: ProviderName): ProviderError {
  return new ProviderError(provider, 'auth', 'no API key is configured (set it in the config or environment, or add your own key)');
}

/** Generic mapping of errors that are not the SDK's own HTTP errors. */
export function mapCommonError(provider: ProviderName, err: unknown): ProviderError | null {
  if (err instanceof ProviderError) return err;
  const refused = endpointRefusalIn(err);
  // The user's own credential cannot be used as stored: theirs to fix, and only their health counts it.
  if (refused) return new ProviderError(provider, 'auth', refused.message, { cause: err });
  if (isAbortError(err)) return new ProviderError(provider, 'cancelled', 'request cancelled', { cause: err });
  const name = (err as { name?: string } | null)?.name ?? (err as object | null)?.constructor?.name;
  if (name === 'APIConnectionTimeoutError') return new ProviderError(provider, 'timeout', 'the provider did not answer in time', { cause: err });
  if (isNetworkError(err)) return new ProviderError(provider, 'unavailable', `cannot reach the provider (${(err as Error).message})`, { cause: err });
  if (err instanceof SyntaxError) return new ProviderError(provider, 'malformed_stream', `unparseable data in the stream (${err.message})`, { cause: err });
  return null;
}

/** Runs a cheap call and turns the result into a HealthResult; never throws. */
export async function timedHealth(run: () => Promise<unknown>, mapError: (err: unknown) => ProviderError): Promise<HealthResult> {
  const started = Date.now();
  try {
    await run();
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    const pe = mapError(err);
    return { ok: false, latencyMs: Date.now() - started, error: `${pe.kind}: ${pe.message}` };
  }
}

/** The output budget when a request names none: the model's own limit, kept modest. */
export function defaultMaxTokens(provider: ProviderName, model: string, fallback = 4096): number {
  const known = findModel(provider, model);
  return known && known.maxOutput > 0 ? Math.min(known.maxOutput, 16_384) : fallback;
}

export function parseToolArguments(provider: ProviderName, name: string, raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ProviderError(provider, 'malformed_stream', `the arguments of tool call "${name}" are not valid JSON`, { cause: err });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProviderError(provider, 'malformed_stream', `the arguments of tool call "${name}" are not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Combines signals; the result aborts when any of them does. */
export function anySignal(signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const list = signals.filter((s): s is AbortSignal => !!s);
  if (list.length <= 1) return list[0];
  return AbortSignal.any(list);
}
