/**
 * What rarely changes (routing rules, agent configs, users' provider
 * credentials), kept in process memory by key so a turn reads it without a
 * statement. An entry is dropped when anything it caches changes — on this
 * replica (the store tells at once) or on another one (the change arrives
 * over Valkey pub/sub, src/valkey/invalidation.ts) — and after `ttlMs`
 * whatever happens, so a missed message costs at most that long.
 */

const MAX_ENTRIES = 10_000;

export class KeyedCache<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();
  /** Bumped by every invalidation: a read that started before one is not kept. */
  private generation = 0;
  private lastSweep = 0;

  constructor(
    private readonly ttlMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The cached value of `key`, or `load()`'s (kept unless it fails or a change happened meanwhile). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.clock();
    // Expired entries go at most once per lifetime, not only when the cap is hit: some hold secrets (decrypted keys).
    if (now - this.lastSweep >= this.ttlMs) this.sweep(now);
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const generation = this.generation;
    const value = load();
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const entry = { at: now, value };
    this.entries.set(key, entry);
    value.then(
      () => {
        if (generation !== this.generation && this.entries.get(key) === entry) this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  invalidate(): void {
    this.generation += 1;
    this.entries.clear();
  }

  /** How many entries are held (expired ones included until the next sweep). */
  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, entry] of this.entries) if (now - entry.at >= this.ttlMs) this.entries.delete(key);
  }
}

/** Listeners told after every change a store makes (its caches, and the replica's invalidation publisher). */
export class ChangeListeners {
  private readonly listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}
