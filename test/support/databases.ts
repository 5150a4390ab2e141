/**
 * Fresh databases for tests: each call makes a new PostgreSQL database (or
 * an in-memory PGlite one) with every migration applied, dropped at the end
 * of the run by the global setup.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, openMemoryDatabase, type Database } from '../../src/db/client.ts';
import { runMigrations } from '../../src/db/migrate.ts';

const ADMIN_PG_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function runId(): string {
  const id = process.env.MOSAIC_TEST_RUN;
  if (!id) throw new Error('MOSAIC_TEST_RUN is not set: run the tests through vitest (npm test)');
  return id;
}

/** Creates an empty PostgreSQL database and returns its URL. */
export async function createEmptyPgDatabase(): Promise<string> {
  const name = `mosaic_t_${runId()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_PG_URL });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createPgDatabase(): Promise<{ database: Database; url: string }> {
  const url = await createEmptyPgDatabase();
  const database = await openDatabase({ url, dataDir: '', poolSize: 5 });
  await runMigrations(database);
  return { database, url };
}

export async function createPgliteDatabase(): Promise<Database> {
  const database = await openMemoryDatabase();
  await runMigrations(database);
  return database;
}

/** A unique Redis key prefix for one test file. */
export function redisPrefix(label = 'x'): string {
  return `mt:${runId()}:${label}${randomBytes(3).toString('hex')}`;
}
