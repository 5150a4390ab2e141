/**
 * Turns whatever the `openai` SDK throws into a ProviderError. Shared by the
 * chat-completions adapters (OpenAI-compatible flavours) and OpenAI's
 * Responses adapter, so an error means the same thing on either wire format.
 */
import OpenAI from 'openai';
import { ProviderError, kindForStatus, looksLikeContextLength, parseRetryAfter, type ProviderErrorKind } from './errors.ts';
import { mapCommonError } from './base.ts';
import type { ProviderName } from './types.ts';

/** A provider's own error codes → kinds, consulted before the generic status mapping. */
export type ErrorKindHook = (code: string | undefined, status: number | undefined, message: string) => ProviderErrorKind | undefined;

export function mapOpenAISdkError(provider: ProviderName, err: unknown, errorKind?: ErrorKindHook): ProviderError {
  if (err instanceof OpenAI.APIError && !(err instanceof OpenAI.APIUserAbortError) && !(err instanceof OpenAI.APIConnectionError)) {
    const body = (err.error ?? {}) as { message?: string; code?: string | number; type?: string; error?: { message?: string; code?: string | number } };
    const code = err.code ?? (body.code !== undefined ? String(body.code) : body.error?.code !== undefined ? String(body.error.code) : undefined) ?? err.type ?? undefined;
    const message = body.message ?? body.error?.message ?? err.message;
    const retryAfterMs = parseRetryAfter(err.headers);
    let kind = errorKind?.(code ?? undefined, err.status, message);
    if (!kind && err.status === undefined && typeof body.code === 'number') kind = kindForStatus(body.code, message, code ?? undefined);
    if (!kind) kind = err.status !== undefined ? kindForStatus(err.status, message, code ?? undefined) : looksLikeContextLength(message, code ?? undefined) ? 'context_length' : 'unavailable';
    return new ProviderError(provider, kind, message, {
      ...(err.status !== undefined ? { status: err.status } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(code ? { providerCode: code } : {}),
      cause: err,
    });
  }
  return mapCommonError(provider, err) ?? new ProviderError(provider, 'unavailable', (err as Error)?.message ?? String(err), { cause: err });
}

/**
 * An error the provider reported inside a 200 stream (a Responses `error`
 * event, or a failed response's `error`), mapped like an HTTP error without a
 * status: by its code.
 */
export function streamError(provider: ProviderName, error: { code?: string | null; message?: string | null }, errorKind?: ErrorKindHook): ProviderError {
  const message = error.message || 'the provider reported an error in the stream';
  const apiError = new OpenAI.APIError(undefined, { code: error.code ?? undefined, message }, message, undefined);
  return mapOpenAISdkError(provider, apiError, errorKind);
}
