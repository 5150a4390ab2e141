/** Turns text into vectors for memory search, through the configured provider. */
import type { ProviderAdapter } from '../providers/types.ts';
import { MosaicError } from '../errors.ts';

export interface Embedder {
  readonly model: string;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

export function providerEmbedder(adapter: ProviderAdapter, model: string): Embedder {
  const embed = adapter.embed?.bind(adapter);
  if (!embed) {
    throw new MosaicError('embeddings_unsupported', `provider ${adapter.name} has no embeddings: set embeddings.provider to ollama or openai`, { httpStatus: 500 });
  }
  return {
    model,
    embed: (texts, signal) => embed({ model, texts, ...(signal ? { signal } : {}) }),
  };
}
