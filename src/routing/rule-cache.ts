/**
 * Routing rules as the router reads them, kept in memory per user: a
 * decision reads no SQL. Dropped on any rule change, here or on another
 * replica, and after `ttlMs` (src/cache/keyed-cache.ts).
 */
import { KeyedCache } from '../cache/keyed-cache.ts';
import type { RoutingRule } from './rule-schema.ts';

export type RuleSets = { userRules: RoutingRule[]; systemRules: RoutingRule[] };

export class RuleCache {
  private readonly cache: KeyedCache<RuleSets>;

  constructor(
    private readonly load: (userId: string | null) => Promise<RuleSets>,
    ttlMs = 60_000,
    clock: () => number = Date.now,
  ) {
    this.cache = new KeyedCache(ttlMs, clock);
  }

  rulesFor(userId: string | null): Promise<RuleSets> {
    return this.cache.get(userId ?? '', () => this.load(userId));
  }

  invalidate(): void {
    this.cache.invalidate();
  }
}
