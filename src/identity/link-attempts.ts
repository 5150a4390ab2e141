/**
 * Failed link attempts, counted in Valkey so every replica shares them:
 * per chat account, per token, per username signing in on the link page,
 * per browser state. Failures are counted over a window that starts with
 * the first one; at the limit the subject is locked until the window ends.
 */
import type { Redis } from '../valkey/client.ts';
import { ephemeralKey } from '../housekeeping/ephemeral-keys.ts';
import { sha256Hex } from './link-secrets.ts';

/** `mint`: browser link states handed out to one chat account (each is a live secret). */
export type AttemptSubject = 'account' | 'token' | 'username' | 'state' | 'mint';

export interface AttemptLimits {
  maxFailures: number;
  windowSeconds: number;
}

export class LinkAttemptLimiter {
  constructor(
    private readonly valkey: Redis,
    private readonly prefix: string,
    readonly limits: AttemptLimits,
  ) {}

  private key(subject: AttemptSubject, id: string): string {
    // Hashed: the key must not carry a token or a person's id in the clear.
    return ephemeralKey(this.prefix, 'link', 'failures', subject, sha256Hex(id));
  }

  /** Seconds until the subject may try again; 0 when it is not locked. */
  async lockedFor(subject: AttemptSubject, id: string): Promise<number> {
    const key = this.key(subject, id);
    const [[, count], [, ttl]] = (await this.valkey.multi().get(key).pttl(key).exec()) as [[unknown, string | null], [unknown, number]];
    if (Number(count ?? 0) < this.limits.maxFailures) return 0;
    return Math.max(1, Math.ceil(Number(ttl) / 1000));
  }

  /** Counts a failure; says whether the subject is now locked, and for how long. */
  async fail(subject: AttemptSubject, id: string): Promise<{ failures: number; lockedForSeconds: number }> {
    const key = this.key(subject, id);
    // The window starts with the first failure (SET NX with its expiry), in the same round trip as the count.
    const results = (await this.valkey.multi().set(key, '0', 'EX', this.limits.windowSeconds, 'NX').incr(key).pttl(key).exec()) as [[unknown, unknown], [unknown, number], [unknown, number]];
    const failures = Number(results[1][1]);
    const ttl = Number(results[2][1]);
    return { failures, lockedForSeconds: failures >= this.limits.maxFailures ? Math.max(1, Math.ceil(ttl / 1000)) : 0 };
  }

  /** Forgets the failures of a subject (after a success). */
  async clear(subject: AttemptSubject, id: string): Promise<void> {
    await this.valkey.del(this.key(subject, id));
  }
}
