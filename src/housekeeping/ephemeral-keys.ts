/**
 * Ephemeral Valkey keys: short-lived state (typing, presence, pending link
 * codes) that other parts write under `<prefix>:ephemeral:`. Each must carry
 * a TTL; a writer that died between SET and EXPIRE leaves a key that lives
 * forever, and session GC removes those once they have sat idle long enough.
 */
import type { Redis } from 'ioredis';

export const EPHEMERAL_NAMESPACE = 'ephemeral';

/** The key other modules should use for short-lived state. */
export function ephemeralKey(prefix: string, ...parts: string[]): string {
  return [prefix, EPHEMERAL_NAMESPACE, ...parts].join(':');
}

export interface EphemeralSweepResult {
  scanned: number;
  deleted: number;
}

/**
 * Walks `<prefix>:ephemeral:*` with SCAN (never KEYS: it blocks the server)
 * and deletes keys without a TTL that have been idle for `maxIdleSeconds`.
 * Keys with a TTL are left to Valkey's own expiry; SCAN visiting a key whose
 * TTL has passed also makes Valkey reclaim it.
 */
export async function sweepEphemeralKeys(redis: Redis, prefix: string, maxIdleSeconds: number, batch = 500): Promise<EphemeralSweepResult> {
  const match = `${escapeGlob(prefix)}:${EPHEMERAL_NAMESPACE}:*`;
  let cursor = '0';
  let scanned = 0;
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', batch);
    cursor = next;
    scanned += keys.length;
    if (keys.length === 0) continue;
    const checks = redis.pipeline();
    for (const key of keys) {
      checks.ttl(key);
      checks.object('IDLETIME', key);
    }
    const answers = (await checks.exec()) ?? [];
    const doomed: string[] = [];
    keys.forEach((key, i) => {
      const [ttlErr, ttl] = answers[i * 2] ?? [];
      const [idleErr, idle] = answers[i * 2 + 1] ?? [];
      // TTL -1: the key exists and never expires. OBJECT IDLETIME fails under
      // an LFU eviction policy; then the key is kept rather than guessed at.
      if (!ttlErr && !idleErr && ttl === -1 && typeof idle === 'number' && idle >= maxIdleSeconds) doomed.push(key);
    });
    if (doomed.length > 0) deleted += await redis.unlink(...doomed);
  } while (cursor !== '0');
  return { scanned, deleted };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
