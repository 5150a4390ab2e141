/**
 * Routing rules as the router reads them, kept in memory per user: a
 * decision reads no SQL. An entry is dropped when any rule changes — here
 * (RuleStore tells at once) or on another replica (its change arrives over
 * Valkey pub/sub, see src/valkey/invalidation.ts) — and after `ttlMs`
 * whatever happens, so a missed message costs at most that long.
 */
import type { RoutingRule } from './rule-schema.ts';

export type RuleSets = { userRules: RoutingRule[]; systemRules: RoutingRule[] };

const MAX_USERS = 10_000;

export class RuleCache {
  private readonly entries = new Map<string, { at: number; sets: Promise<RuleSets> }>();
  /** Bumped by every invalidation: a read that started before one is not kept. */
  private generation = 0;

  constructor(
    private readonly load: (userId: string | null) => Promise<RuleSets>,
    private readonly ttlMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  rulesFor(userId: string | null): Promise<RuleSets> {
    const key = userId ?? '';
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.sets;
    const generation = this.generation;
    const sets = this.load(userId);
    if (this.entries.size >= MAX_USERS) this.entries.clear();
    this.entries.set(key, { at: now, sets });
    sets.then(
      () => {
        if (generation !== this.generation) this.entries.delete(key);
      },
      () => this.entries.delete(key),
    );
    return sets;
  }

  invalidate(): void {
    this.generation += 1;
    this.entries.clear();
  }
}
