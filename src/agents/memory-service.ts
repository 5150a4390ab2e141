/**
 * Saving and recalling memories with embeddings. When the embedding
 * provider is unreachable, memories are still saved (without a vector) and
 * search falls back to words, so a down Ollama never loses what a user said.
 */
import type { Actor } from '../identity/actor.ts';
import type { Logger } from '../logging.ts';
import type { Embedder } from './embedder.ts';
import type { Memory, MemoryHit, MemoryStore } from './memory-store.ts';

export class MemoryService {
  constructor(
    private readonly store: MemoryStore,
    private readonly embedder: Embedder | null,
    private readonly logger?: Logger,
  ) {}

  private async vector(text: string, signal?: AbortSignal): Promise<number[] | null> {
    if (!this.embedder) return null;
    try {
      const [vec] = await this.embedder.embed([text], signal);
      return vec && vec.length > 0 ? vec : null;
    } catch (err) {
      this.logger?.warn({ event: 'memory.embed_failed', err: (err as Error).message }, 'embedding failed; falling back to word search');
      return null;
    }
  }

  async save(actor: Actor, input: { content: string; tags?: string[]; kind?: 'memory' | 'insight'; agentId?: string | null }, signal?: AbortSignal): Promise<Memory & { embedded: boolean }> {
    const embedding = await this.vector(input.content, signal);
    const memory = await this.store.save(actor, { ...input, embedding, embeddingModel: embedding ? (this.embedder?.model ?? null) : null });
    return { ...memory, embedded: embedding !== null };
  }

  async search(actor: Actor, query: string, limit = 5, signal?: AbortSignal): Promise<MemoryHit[]> {
    const embedding = await this.vector(query, signal);
    if (embedding && this.embedder) {
      const hits = await this.store.searchByVector(actor, embedding, this.embedder.model, limit);
      if (hits.length > 0) return hits;
    }
    return this.store.searchByText(actor, query, limit);
  }

  get(actor: Actor, id: string): Promise<Memory> {
    return this.store.get(actor, id);
  }

  /** The actor's memories, newest first. */
  list(actor: Actor, limit = 50): Promise<Memory[]> {
    return this.store.list(actor, limit);
  }

  /** Forgets one of the actor's memories (404 when it is not theirs). Message retention never does this. */
  remove(actor: Actor, id: string): Promise<void> {
    return this.store.remove(actor, id);
  }
}
