/**
 * Opens the database: PostgreSQL (pg) when a URL is configured, otherwise an
 * embedded PGlite database on disk. Both speak the same drizzle schema.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { serviceUnavailable } from '../errors.ts';
import { redactUrl } from '../logging.ts';
import * as schema from './schema.ts';
import { acquireDataDirLock, type AcquireOptions } from './data-dir-lock.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Where it is, credentials removed: safe to print. */
  location: string;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Runs `fn` while holding a database-wide lock (PostgreSQL advisory lock). */
  withLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /**
   * Statements sent to the database since it was opened (BEGIN and COMMIT
   * included): the round trips a piece of work costs, counted, so tests can
   * hold a budget without timing anything.
   */
  roundTrips(): number;
}

export interface OpenDatabaseOptions {
  url?: string | undefined;
  dataDir: string;
  poolSize?: number;
  /** Who takes the embedded database (PGlite has one owner at a time); default: a command that does not wait. */
  owner?: AcquireOptions;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openPglite(options.dataDir, options.owner ?? { role: 'command', command: 'mosaic' });
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => undefined);
  let trips = 0;
  // Every statement, pooled or in a transaction, goes through some client's query() (counted from the first connection on).
  pool.on('connect', (client) => {
    // Nor one checked out (a transaction between statements) when the server goes away: its statement fails instead.
    client.on('error', () => undefined);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      trips += 1;
      return query(...args);
    };
  });
  const location = redactUrl(url);
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw serviceUnavailable(`PostgreSQL at ${location} is not reachable (${code}): start PostgreSQL or fix DATABASE_URL`, err);
  }
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    roundTrips: () => trips,
    location,
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      await pool.end();
    },
    async withLock(key, fn) {
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [key]);
        return await fn();
      } finally {
        await client.query('select pg_advisory_unlock($1)', [key]).catch(() => undefined);
        client.release();
      }
    },
  };
}

async function openPglite(dataDir: string, owner: AcquireOptions): Promise<Database> {
  const dir = path.resolve(dataDir, 'pglite');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw serviceUnavailable(`cannot create the embedded database folder ${dir}: ${(err as Error).message}`, err);
  }
  const lock = await acquireDataDirLock(dataDir, owner);
  // A process that exits without closing (an uncaught error) must not leave its lock behind.
  const releaseOnExit = () => lock.release();
  process.once('exit', releaseOnExit);
  let client: PGlite;
  try {
    client = await PGlite.create(dir);
  } catch (err) {
    lock.release();
    process.off('exit', releaseOnExit);
    throw serviceUnavailable(`cannot open the embedded database in ${dir}: ${(err as Error).message}`, err);
  }
  const roundTrips = countPgliteCalls(client);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  // PGlite is one connection in this process: a promise chain is its lock.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    db,
    kind: 'pglite',
    roundTrips,
    location: dir,
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      try {
        await client.close();
      } finally {
        lock.release();
        process.off('exit', releaseOnExit);
      }
    },
    withLock(_key, fn) {
      const run = chain.then(fn, fn);
      chain = run.catch(() => undefined);
      return run;
    },
  };
}

/** An in-memory PGlite database, for tests and `mosaic config check`. */
export async function openMemoryDatabase(): Promise<Database> {
  const client = await PGlite.create();
  const roundTrips = countPgliteCalls(client);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    location: 'memory',
    roundTrips,
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      await client.close();
    },
    async withLock(_key, fn) {
      return fn();
    },
  };
}

type Queryable = Pick<PGlite, 'query' | 'exec'>;

/**
 * Counts PGlite's calls the way pg's are counted: each query or exec is one
 * statement, a transaction adds its BEGIN and COMMIT.
 */
function countPgliteCalls(client: PGlite): () => number {
  let calls = 0;
  const counted = <T extends Queryable>(target: T): T => {
    const query = target.query.bind(target) as (...args: unknown[]) => unknown;
    const exec = target.exec.bind(target) as (...args: unknown[]) => unknown;
    const t = target as unknown as Record<'query' | 'exec', (...args: unknown[]) => unknown>;
    t.query = (...args) => {
      calls += 1;
      return query(...args);
    };
    t.exec = (...args) => {
      calls += 1;
      return exec(...args);
    };
    return target;
  };
  counted(client);
  const transaction = client.transaction.bind(client);
  client.transaction = (callback) => {
    calls += 2;
    return transaction((tx) => callback(counted(tx)));
  };
  return () => calls;
}

/** Runs raw SQL and returns its rows; pg and PGlite both answer `{ rows }`. */
export async function sqlRows<T extends Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
