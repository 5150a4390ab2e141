/**
 * Ephemeral Valkey keys: short-lived state (typing, presence, pending link
 * codes) that other parts write under `<prefix>:ephemeral:`, always with a
 * TTL. A writer that died between SET and EXPIRE leaves a key that would
 * live forever; session GC finds those and gives them a grace TTL.
 */
import type { Redis } from 'ioredis';

export const EPHEMERAL_NAMESPACE = 'ephemeral';

/** The key other modules should use for short-lived state. */
export function ephemeralKey(prefix: string, ...parts: string[]): string {
  return [prefix, EPHEMERAL_NAMESPACE, ...parts].join(':');
}

export interface EphemeralSweepResult {
  scanned: number;
  /** Keys that had no TTL and now expire after the grace period. */
  leaked: number;
}

/**
 * Walks `<prefix>:ephemeral:*` with SCAN (never KEYS: it blocks the server).
 * `EXPIRE … NX` sets a TTL only where none exists, atomically, so a writer
 * setting its own TTL at the same moment always wins. Keys whose TTL has
 * passed are deleted by Valkey, at the latest when SCAN visits them.
 */
export async function sweepEphemeralKeys(redis: Redis, prefix: string, graceSeconds: number, batch = 500): Promise<EphemeralSweepResult> {
  const match = `${escapeGlob(prefix)}:${EPHEMERAL_NAMESPACE}:*`;
  let cursor = '0';
  let scanned = 0;
  let leaked = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', batch);
    cursor = next;
    scanned += keys.length;
    if (keys.length === 0) continue;
    const expiries = redis.pipeline();
    for (const key of keys) expiries.call('EXPIRE', key, String(graceSeconds), 'NX');
    for (const [err, changed] of (await expiries.exec()) ?? []) {
      if (err) throw new Error(`session GC could not set a TTL on a leaked ephemeral key (EXPIRE … NX needs Valkey 7.2+ or Redis 7+): ${err.message}`);
      if (changed === 1) leaked += 1;
    }
  } while (cursor !== '0');
  return { scanned, leaked };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
