/** What a model call cost, from the capability matrix's prices. */
import type { ModelInfo, Usage } from '../providers/types.ts';

// Prompt caching prices relative to plain input, as Anthropic and OpenAI bill them.
const CACHE_READ_FACTOR = 0.1;
const CACHE_WRITE_FACTOR = 1.25;

export function costUsd(model: Pick<ModelInfo, 'inputPricePerMTok' | 'outputPricePerMTok'> | undefined, usage: Usage): number {
  if (!model) return 0;
  const input = usage.inputTokens * model.inputPricePerMTok;
  const cacheRead = usage.cacheReadTokens * model.inputPricePerMTok * CACHE_READ_FACTOR;
  const cacheWrite = usage.cacheWriteTokens * model.inputPricePerMTok * CACHE_WRITE_FACTOR;
  const output = usage.outputTokens * model.outputPricePerMTok;
  return (input + cacheRead + cacheWrite + output) / 1_000_000;
}
