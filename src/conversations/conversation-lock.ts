/**
 * One answer at a time per conversation, across every replica: a Valkey
 * lease (SET NX PX) that its holder renews while it works and releases only
 * if it still owns it.
 *
 * The lease's value starts with its holder's id (the process's boot id).
 * When the holder is known to be dead (a crash; see src/valkey/liveness.ts)
 * the lease is taken over at once, so an answer cut by a crash resumes in
 * seconds rather than when the lease would have expired.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../valkey/client.ts';
import { lockHolder } from '../valkey/liveness.ts';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const TAKE_OVER = `if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Lease {
  /** Aborted when the lease is lost (renewal failed): stop working. */
  signal: AbortSignal;
  /** Taken over from a holder that died (a crash), rather than free. */
  takenOver: boolean;
  release(): Promise<void>;
}

/** Who this process is, and whether another holder is dead (src/valkey/liveness.ts). */
export interface LeaseHolders {
  readonly bootId: string;
  isDead(holder: string): Promise<boolean>;
}

export class ConversationLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 30_000,
    private readonly holders: LeaseHolders | null = null,
  ) {}

  private key(conversationId: string): string {
    return `${this.prefix}:lock:conv:${conversationId}`;
  }

  async tryAcquire(conversationId: string): Promise<Lease | null> {
    const token = this.holders ? `${this.holders.bootId}:${randomUUID()}` : randomUUID();
    const key = this.key(conversationId);
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    const how = ok === 'OK' ? 'free' : await this.takeOverFromDead(key, token);
    if (!how) return null;
    const lost = new AbortController();
    const timer = setInterval(() => {
      this.redis
        .eval(RENEW, 1, key, token, String(this.ttlMs))
        .then((r) => {
          if (Number(r) !== 1) lost.abort(new Error('conversation lock lost'));
        })
        .catch(() => undefined);
    }, Math.max(1000, Math.floor(this.ttlMs / 3)));
    timer.unref();
    return {
      signal: lost.signal,
      takenOver: how === 'dead',
      release: async () => {
        clearInterval(timer);
        await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      },
    };
  }

  /** Replaces the lease of a dead holder with ours, if it still holds it. */
  private async takeOverFromDead(key: string, token: string): Promise<'free' | 'dead' | null> {
    if (!this.holders) return null;
    const current = await this.redis.get(key);
    if (current === null) return (await this.redis.set(key, token, 'PX', this.ttlMs, 'NX')) === 'OK' ? 'free' : null;
    const holder = lockHolder(current);
    if (holder === current || !(await this.holders.isDead(holder))) return null;
    return Number(await this.redis.eval(TAKE_OVER, 1, key, current, token, String(this.ttlMs))) === 1 ? 'dead' : null;
  }
}
