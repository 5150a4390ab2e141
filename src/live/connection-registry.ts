/**
 * Live connections per user, across every replica: a sorted set per user
 * in Valkey (member: connection id, score: last seen). A replica refreshes
 * its connections each heartbeat in one pipeline; a connection whose
 * replica died drops out after `staleMs`. Admission is one atomic script,
 * so two replicas cannot both admit the last free place.
 */
import type { Redis } from '../valkey/client.ts';
import { ephemeralKey } from '../housekeeping/ephemeral-keys.ts';

// KEYS: the user's set. ARGV: now, staleBefore, max, connection id, ttl ms.
const ADMIT = `redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[2])
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('zadd', KEYS[1], ARGV[1], ARGV[4])
redis.call('pexpire', KEYS[1], ARGV[5])
return 1`;

export class ConnectionRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly maxPerUser: number,
    private readonly staleMs: number,
  ) {}

  private key(userId: string): string {
    return ephemeralKey(this.prefix, 'live', 'connections', userId);
  }

  /** Counts the connection in, unless the user already has the most allowed. */
  async admit(userId: string, connectionId: string): Promise<boolean> {
    const now = Date.now();
    return (await this.redis.eval(ADMIT, 1, this.key(userId), String(now), String(now - this.staleMs), String(this.maxPerUser), connectionId, String(this.staleMs * 2))) === 1;
  }

  /** Marks this replica's connections as alive (one round trip for all of them). */
  async refresh(connections: Array<{ userId: string; connectionId: string }>): Promise<void> {
    if (connections.length === 0) return;
    const now = String(Date.now());
    const pipeline = this.redis.pipeline();
    for (const c of connections) pipeline.zadd(this.key(c.userId), 'XX', now, c.connectionId).pexpire(this.key(c.userId), this.staleMs * 2);
    await pipeline.exec();
  }

  async release(userId: string, connectionId: string): Promise<void> {
    await this.redis.zrem(this.key(userId), connectionId);
  }
}
