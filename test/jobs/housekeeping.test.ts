/**
 * The housekeeping the job system owns, run through its scheduled jobs:
 * log tiers by age, session GC (orphaned sessions, leaked ephemeral keys),
 * and the Valkey eviction-policy check.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';
import { agentLogs, conversations, sessions, users } from '../../src/db/schema.ts';
import { createJobSystem, type JobSystem } from '../../src/jobs/job-system.ts';
import { checkEvictionPolicy } from '../../src/jobs/valkey-policy.ts';
import { ephemeralKey } from '../../src/housekeeping/ephemeral-keys.ts';
import { createLogger } from '../../src/logging.ts';
import { createPgDatabase } from '../support/databases.ts';
import { REDIS_URL, redisClient, silentLogger, testConfig, waitFor } from './support.ts';

let database: Database;
let valkey: Redis;
let system: JobSystem;
const config = testConfig({ jobs: { logTiers: { warmAfterDays: 7, coldAfterDays: 30, deleteAfterDays: 90 }, sessionGc: { idleMinutes: 60, ephemeralGraceSeconds: 1 } } }, 'hk');

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  valkey = redisClient();
  system = createJobSystem({ config, logger: silentLogger(), db: database.db, valkey });
  await system.start();
});
afterAll(async () => {
  await system.stop();
  valkey.disconnect();
  await database.close();
});

async function runNow(queue: string) {
  const job = await system.admin.runNow(queue);
  return waitFor(`${queue} to finish`, async () => {
    const d = await system.admin.getJob(job.id);
    return d.state === 'completed' || d.state === 'failed' ? d : null;
  });
}

const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000 - 60_000);

describe('log tier management', () => {
  it('moves lines hot → warm → cold by age and deletes the oldest', async () => {
    const rows = [
      { event: 'fresh', createdAt: daysAgo(1) },
      { event: 'week-old', createdAt: daysAgo(8) },
      { event: 'month-old', createdAt: daysAgo(31) },
      { event: 'ancient', createdAt: daysAgo(91) },
    ];
    await database.db.insert(agentLogs).values(rows.map((r) => ({ source: 'test', event: r.event, createdAt: r.createdAt })));
    const done = await runNow('mosaic:log-tiers');
    expect(done).toMatchObject({ state: 'completed', returnValue: { warmed: 1, cooled: 1, deleted: 1 } });
    const left = await database.db.select({ event: agentLogs.event, tier: agentLogs.tier }).from(agentLogs).where(eq(agentLogs.source, 'test'));
    expect(Object.fromEntries(left.map((r) => [r.event, r.tier]))).toEqual({ fresh: 'hot', 'week-old': 'warm', 'month-old': 'cold' });
    // A second run changes nothing.
    expect((await runNow('mosaic:log-tiers')).returnValue).toEqual({ warmed: 0, cooled: 0, deleted: 0 });
  });
});

describe('session GC', () => {
  it('ends orphaned sessions and expires leaked ephemeral keys, leaving live ones', async () => {
    const [user] = await database.db.insert(users).values({ username: `gc-${randomBytes(3).toString('hex')}` }).returning();
    const conv = async (extra: Partial<typeof conversations.$inferInsert> = {}) =>
      (await database.db.insert(conversations).values({ ownerId: user!.id, ...extra }).returning())[0]!.id;
    const live = await conv();
    const archived = await conv({ archivedAt: new Date() });
    const deleted = await conv({ deletedAt: new Date() });
    const session = async (conversationId: string, lastActivityAt: Date) =>
      (await database.db.insert(sessions).values({ conversationId, userId: user!.id, lastActivityAt }).returning())[0]!.id;
    const active = await session(live, new Date());
    const idle = await session(live, new Date(Date.now() - 2 * 3_600_000));
    const inArchived = await session(archived, new Date());
    const inDeleted = await session(deleted, new Date());

    const prefix = config.valkey.keyPrefix;
    const leaked = ephemeralKey(prefix, 'typing', 'leaked');
    const expiring = ephemeralKey(prefix, 'typing', 'expiring');
    const other = `${prefix}:durable:thing`;
    await valkey.set(leaked, '1');
    await valkey.set(expiring, '1', 'EX', 3600);
    await valkey.set(other, '1');

    const done = await runNow('mosaic:session-gc');
    expect(done).toMatchObject({ state: 'completed', returnValue: { endedSessions: 3, ephemeralKeys: { scanned: 2, leaked: 1 } } });
    const states = await database.db.select({ id: sessions.id, status: sessions.status, endedAt: sessions.endedAt }).from(sessions);
    const byId = Object.fromEntries(states.map((s) => [s.id, s]));
    expect(byId[active]!.status).toBe('active');
    for (const id of [idle, inArchived, inDeleted]) {
      expect(byId[id]!.status).toBe('ended');
      expect(byId[id]!.endedAt).not.toBeNull();
    }
    // The leaked key now expires after the grace period (1 s here); the writer's own TTL is kept.
    expect(await valkey.ttl(expiring)).toBeGreaterThan(3000);
    expect(await valkey.ttl(other)).toBe(-1);
    await waitFor('the leaked key to expire', async () => (await valkey.exists(leaked)) === 0, 10_000);
    expect(await valkey.exists(expiring, other)).toBe(2);
    // BullMQ's keys share the prefix and keep their state: the scheduler still stands.
    expect((await system.admin.queues()).find((q) => q.name === 'mosaic:session-gc')!.jobs[0]!.scheduled).toBe(true);
  });
});

describe('the Valkey eviction policy check', () => {
  it('passes on noeviction, warns on another policy, and warns when CONFIG GET is refused', async () => {
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (l: string) => void lines.push(l) } as unknown as NodeJS.WritableStream);
    expect(await checkEvictionPolicy(valkey, logger)).toEqual({ ok: true, policy: 'noeviction' });

    // A server that answers with another policy (a real Redis running with allkeys-lru would).
    const fakePolicy = { call: async () => ['maxmemory-policy', 'allkeys-lru'] } as unknown as Redis;
    const lru = await checkEvictionPolicy(fakePolicy, logger);
    expect(lru).toMatchObject({ ok: false, policy: 'allkeys-lru' });
    expect(lines.join('')).toMatch(/allkeys-lru.*noeviction/);

    // A managed server that refuses CONFIG: a real ACL user without it.
    const user = `mt-jobs-${randomBytes(3).toString('hex')}`;
    await valkey.call('ACL', 'SETUSER', user, 'on', '>secret-pass', '~*', '&*', '+@all', '-config');
    const restricted = new Redis(REDIS_URL, { username: user, password: 'secret-pass', maxRetriesPerRequest: 1 });
    try {
      const refused = await checkEvictionPolicy(restricted, logger);
      expect(refused).toMatchObject({ ok: false, policy: null });
      if (!refused.ok) expect(refused.reason).toMatch(/could not read maxmemory-policy .*NOPERM/);
    } finally {
      restricted.disconnect();
      await valkey.call('ACL', 'DELUSER', user);
    }
  });
});
