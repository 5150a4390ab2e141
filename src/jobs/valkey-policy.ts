/**
 * BullMQ loses jobs when Valkey evicts keys under memory pressure, so the
 * server must run with `maxmemory-policy noeviction`. Managed services often
 * refuse CONFIG GET; then the operator is told to check it by hand.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logging.ts';
import { errorMessage } from '../errors.ts';

export type EvictionPolicyCheck = { ok: true; policy: 'noeviction' } | { ok: false; policy: string | null; reason: string };

export async function checkEvictionPolicy(redis: Redis, logger: Logger): Promise<EvictionPolicyCheck> {
  let policy: string | null;
  try {
    policy = readPolicy(await redis.call('CONFIG', 'GET', 'maxmemory-policy'));
  } catch (err) {
    const reason = `could not read maxmemory-policy (${errorMessage(err)}); make sure the Valkey server runs with "maxmemory-policy noeviction", or queued jobs can vanish`;
    logger.warn({ event: 'jobs.valkey_policy_unknown' }, reason);
    return { ok: false, policy: null, reason };
  }
  if (policy === 'noeviction') return { ok: true, policy };
  const reason = policy
    ? `Valkey maxmemory-policy is "${policy}", not "noeviction": under memory pressure it can evict queued jobs. Set "maxmemory-policy noeviction" in the server config`
    : 'Valkey did not report a maxmemory-policy; make sure it runs with "maxmemory-policy noeviction"';
  logger.warn({ event: 'jobs.valkey_policy', policy }, reason);
  return { ok: false, policy, reason };
}

/** CONFIG GET answers a flat array (RESP2) or a map (RESP3). */
function readPolicy(answer: unknown): string | null {
  if (Array.isArray(answer)) {
    const i = answer.findIndex((x) => String(x).toLowerCase() === 'maxmemory-policy');
    return i >= 0 && answer[i + 1] !== undefined ? String(answer[i + 1]) : null;
  }
  if (answer && typeof answer === 'object') {
    const value = (answer as Record<string, unknown>)['maxmemory-policy'];
    return value === undefined ? null : String(value);
  }
  return null;
}
