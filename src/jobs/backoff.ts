/**
 * Capped exponential backoff. BullMQ's built-in exponential strategy has no
 * ceiling, so Mosaic registers its own strategy under this type name.
 */
import type { BackoffPolicy } from './job-definition.ts';

export const CAPPED_BACKOFF = 'mosaic-capped-exponential';

/** Delay before the retry that follows failure number `failures` (1-based). */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, failures - 1);
  // 2^exponent overflows to Infinity long before it matters; min() handles it.
  return Math.min(policy.maxMs, Math.round(policy.baseMs * 2 ** exponent));
}
