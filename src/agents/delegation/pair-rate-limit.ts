/**
 * The per-pair rate limit on delegations, counted in Valkey so every replica
 * sees the same count: a fixed window per (person, from agent, to agent).
 * Per person, so one person's busy agents never starve another's.
 */
import { valkeyKey, type Redis } from '../../valkey/client.ts';

export interface PairRateLimiter {
  /** Counts one delegation; `ok: false` with the wait when the pair is over its limit. */
  take(userId: string, fromAgentId: string, toAgentId: string): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }>;
}

export function valkeyPairRateLimiter(valkey: Redis, keyPrefix: string, limits: { pairLimit: number; pairWindowSeconds: number }): PairRateLimiter {
  return {
    async take(userId, from, to) {
      const key = valkeyKey(keyPrefix, 'agents', 'pair', userId, from, to);
      // One round trip: count, start the window on the first count, read what is left of it.
      const replies = await valkey.multi().incr(key).expire(key, limits.pairWindowSeconds, 'NX').ttl(key).exec();
      const count = Number(replies?.[0]?.[1] ?? 0);
      if (count <= limits.pairLimit) return { ok: true };
      const ttl = Number(replies?.[2]?.[1] ?? limits.pairWindowSeconds);
      return { ok: false, retryAfterSeconds: ttl > 0 ? ttl : limits.pairWindowSeconds };
    },
  };
}
