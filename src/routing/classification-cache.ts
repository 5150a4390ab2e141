/**
 * Where the classifier model's answers are kept, per message hash: Valkey
 * when the gateway runs (shared by replicas), a small in-process LRU
 * otherwise. Values are JSON strings.
 */
export interface ClassificationCache {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/** An in-process LRU with expiry: Map keeps insertion order, so the first key is the oldest. */
export class LruClassificationCache implements ClassificationCache {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();

  constructor(private readonly maxEntries = 5000) {}

  async get(key: string): Promise<string | null> {
    const hit = this.entries.get(key);
    if (!hit) return null;
    this.entries.delete(key);
    if (hit.expiresAt <= Date.now()) return null;
    this.entries.set(key, hit);
    return hit.value;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

/** The two Valkey commands the cache needs (an ioredis client fits). */
export interface ValkeyLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'EX', seconds: number): Promise<unknown>;
}

export function valkeyClassificationCache(client: ValkeyLike, keyPrefix: string): ClassificationCache {
  const k = (key: string) => `${keyPrefix}:routing:classification:${key}`;
  return {
    get: (key) => client.get(k(key)),
    async set(key, value, ttlSeconds) {
      await client.set(k(key), value, 'EX', ttlSeconds);
    },
  };
}
