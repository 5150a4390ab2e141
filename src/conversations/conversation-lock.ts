/**
 * One answer at a time per conversation, across every replica: a Valkey
 * lease (SET NX PX) that its holder renews while it works and releases only
 * if it still owns it.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from '../valkey/client.ts';

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Lease {
  /** Aborted when the lease is lost (renewal failed): stop working. */
  signal: AbortSignal;
  release(): Promise<void>;
}

export class ConversationLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 30_000,
  ) {}

  private key(conversationId: string): string {
    return `${this.prefix}:lock:conv:${conversationId}`;
  }

  async tryAcquire(conversationId: string): Promise<Lease | null> {
    const token = randomUUID();
    const key = this.key(conversationId);
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return null;
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
      release: async () => {
        clearInterval(timer);
        await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      },
    };
  }
}
