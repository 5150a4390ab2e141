/**
 * Runs once per `vitest run`: checks that PostgreSQL and Redis are up and
 * gives this run a unique name, so per-file databases and Redis prefixes
 * never touch a developer's data or another run's.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';

export const ADMIN_PG_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export default async function setup(): Promise<() => Promise<void>> {
  // The web client's bundle, fresh from its sources, once per run (the browser tests serve it).
  const { buildWebClient } = await import('../../clients/web/build.mjs');
  await buildWebClient({ quiet: true });
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  process.env.MOSAIC_TEST_RUN = runId;
  const client = new pg.Client({ connectionString: ADMIN_PG_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`tests need PostgreSQL at ${ADMIN_PG_URL}: ${(err as Error).message}. Start it (see .ci/run).`, { cause: err });
  }
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`tests need Redis at ${TEST_REDIS_URL}: ${(err as Error).message}. Start it (see .ci/run).`, { cause: err });
  } finally {
    redis.disconnect();
  }
  return async () => {
    // Drop every database this run created, even when a test file crashed.
    const rows = await client.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [`mosaic_t_${runId}_%`]);
    for (const { datname } of rows.rows) {
      await client.query(`drop database if exists "${datname}" with (force)`).catch(() => undefined);
    }
    await client.end();
    const cleanup = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    let cursor = '0';
    do {
      const [next, keys] = await cleanup.scan(cursor, 'MATCH', `mt:${runId}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await cleanup.del(...keys);
    } while (cursor !== '0');
    cleanup.disconnect();
  };
}
