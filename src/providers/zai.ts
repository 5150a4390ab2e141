/**
 * Z.ai (GLM) through the `openai` SDK, at /api/paas/v4. Its quirks: tool
 * calls stream only with `tool_stream: true`, reasoning arrives as
 * `delta.reasoning_content`, finish reasons include `sensitive` and
 * `model_context_window_exceeded`, and errors carry numeric business codes
 * (`{"error":{"code":"1261","message":"Prompt exceeds max length"}}`).
 */
import { OpenAICompatibleAdapter, type OpenAIFlavor } from './openai-compatible.ts';
import type { AdapterOptions, CloudProviderSettings } from './base.ts';
import type { ProviderErrorKind } from './errors.ts';

/** Z.ai business error codes → kinds. */
export const ZAI_ERROR_CODES: Record<string, ProviderErrorKind> = {
  '1000': 'auth', // authentication failed
  '1001': 'auth', // missing Authorization header
  '1002': 'auth', // invalid token
  '1003': 'auth', // token expired
  '1004': 'auth', // authentication failed
  '1110': 'auth', // account inactive
  '1111': 'auth', // account does not exist
  '1112': 'auth', // account locked
  '1113': 'auth', // insufficient balance
  '1211': 'bad_request', // model does not exist
  '1214': 'bad_request', // invalid parameter
  '1261': 'context_length', // prompt exceeds max length
  '1301': 'bad_request', // content blocked by the safety filter
  '1302': 'rate_limit', // concurrency too high
  '1303': 'rate_limit', // request frequency too high
  '1304': 'rate_limit', // daily call limit reached
  '1305': 'unavailable', // service overloaded
};

export const ZAI_FLAVOR: OpenAIFlavor = {
  name: 'zai',
  maxTokensParam: 'max_tokens',
  embeddings: true,
  listingOptional: true,
  extraBody: (request) => (request.tools?.length ? { tool_stream: true } : {}),
  errorKind: (code) => (code ? ZAI_ERROR_CODES[code] : undefined),
};

export function createZaiAdapter(options: AdapterOptions<CloudProviderSettings>): OpenAICompatibleAdapter {
  return new OpenAICompatibleAdapter(ZAI_FLAVOR, options);
}
