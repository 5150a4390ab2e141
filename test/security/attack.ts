/**
 * The attacker suite's machinery: a case is a request an attacker sends,
 * the status and error code it must get, and — for every refused request —
 * the promise that nothing changed: the row count of every table and the
 * Valkey keys under the install's prefix are the same after as before,
 * and the process still answers /healthz.
 *
 * Coverage comes from the app itself: its router stack lists every route
 * (src/http/route-table.ts), and a route no hand-written case names fails
 * the suite, the way test/foundation/isolation.test.ts fails a storage
 * function without an isolation check.
 */
import { expect } from 'vitest';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { Db } from '../../src/db/client.ts';
import { sqlRows } from '../../src/db/client.ts';

export type Who = 'alice' | 'bob' | 'admin' | 'none';

export interface AttackRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** JSON-encoded and sent as application/json unless `raw` or `contentType` says otherwise. */
  body?: unknown;
  /** Sent exactly as given. */
  raw?: string;
  /** null: no Content-Type header at all. */
  contentType?: string | null;
}

export interface AttackCase<F> {
  name: string;
  /** The numbered finding of issue 12 this case reproduces, when it does. */
  finding?: number;
  /** The route template it attacks, as the route table names it (`POST /api/conversations/:id`); `unmatched` for none. */
  route: string;
  as: Who;
  request: (f: F) => AttackRequest;
  expect: {
    status: number;
    /** The error code (`error.code`) of a refusal. */
    code?: string;
    /** Response headers that must be present (value, or a RegExp it must match). */
    headers?: Record<string, string | RegExp>;
    /** The answer is a page for a browser (the link page): a refusal is HTML, not the JSON error shape. */
    page?: boolean;
  };
  /**
   * Why this request may change stored state (it is accepted by design).
   * Without it, the request must leave every row count and every key as it was.
   */
  changes?: string;
  /** Further checks on the answer. */
  then?: (f: F, res: AttackResponse) => Promise<void> | void;
}

export interface AttackResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function send(baseUrl: string, token: string | null, r: AttackRequest): Promise<AttackResponse> {
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...r.headers };
  let body: string | undefined;
  if (r.raw !== undefined) body = r.raw;
  else if (r.body !== undefined) body = JSON.stringify(r.body);
  const type = r.contentType === undefined ? (body !== undefined ? 'application/json' : undefined) : r.contentType;
  if (type) headers['content-type'] = type;
  const res = await fetch(`${baseUrl}${r.path}`, { method: r.method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: parseOrNull(text) };
}

function parseOrNull(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Row counts of every table in the public schema, in one round trip. */
export async function rowCounts(db: Db): Promise<Record<string, number>> {
  const tables = await sqlRows<{ table_name: string }>(db, sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`);
  const select = tables.map((t) => `(select count(*) from "${t.table_name}")::int as "${t.table_name}"`).join(', ');
  const [row] = await sqlRows<Record<string, number>>(db, sql.raw(`select ${select}`));
  return row!;
}

/**
 * Keys that move whatever anyone sends: BullMQ's stalled-job check and
 * wake-up marker (timers), the API rate limiter's per-client counts
 * (every request is counted, refused or not: that is what they are for),
 * the periodic reply-recovery sweep's turn marker and the processes'
 * liveness keys (both renewed on a timer).
 * Everything else under the prefix — queued jobs, provider health, locks,
 * bus state — must stay as it was.
 */
const TIMER_KEYS = /:(stalled-check|marker)$|:rate-limit:|:replies:recovery-sweep$|:alive:/;

/** Every key under the prefix with its type and size (strings: their value). */
export async function valkeyState(valkey: Redis, prefix: string): Promise<Record<string, string>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await valkey.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch.filter((k) => !TIMER_KEYS.test(k)));
  } while (cursor !== '0');
  const out: Record<string, string> = {};
  for (const key of keys.sort()) {
    const type = await valkey.type(key);
    const size =
      type === 'string' ? await valkey.get(key)
      : type === 'hash' ? await valkey.hlen(key)
      : type === 'list' ? await valkey.llen(key)
      : type === 'set' ? await valkey.scard(key)
      : type === 'zset' ? await valkey.zcard(key)
      : type === 'stream' ? await valkey.xlen(key)
      : 'gone';
    if (type !== 'none') out[key] = `${type}:${size}`;
  }
  return out;
}

export interface Surroundings {
  db: Db;
  valkey: Redis;
  prefix: string;
  healthz: string;
}

export async function snapshot(s: Surroundings): Promise<{ rows: Record<string, number>; keys: Record<string, string> }> {
  return { rows: await rowCounts(s.db), keys: await valkeyState(s.valkey, s.prefix) };
}

/** The process answers a plain request at once after the attack (no timing is asserted: it answers at all). */
export async function expectResponsive(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  expect(res.status).toBe(200);
}

/** The one error shape: `{ error: { code, message } }` (details optional), JSON. */
export function expectErrorShape(res: AttackResponse, code?: string): void {
  expect(res.headers.get('content-type') ?? '', `content type of: ${res.text.slice(0, 200)}`).toMatch(/^application\/json/);
  const body = res.json as { error?: { code?: unknown; message?: unknown } } | null;
  expect(body?.error, `error shape of: ${res.text.slice(0, 200)}`).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  if (code) expect(body!.error!.code).toBe(code);
}

/** A refusal a browser shows: an HTML page of its own, never cached, framed or given a cookie. */
export function expectRefusalPage(res: AttackResponse): void {
  expect(res.headers.get('content-type') ?? '').toMatch(/^text\/html/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('content-security-policy') ?? '').toContain("default-src 'none'");
  expect(res.headers.get('set-cookie')).toBeNull();
  expect(res.text).toMatch(/^<!doctype html>/);
}

/** Which routes have no hand-written case (named by their template). */
export function uncovered(routes: Array<{ method: string; path: string }>, cases: Array<{ route: string }>): string[] {
  const named = new Set(cases.map((c) => c.route));
  return routes.map((r) => `${r.method} ${r.path}`).filter((r) => !named.has(r));
}

/** Waits until stored state stops moving (answers and their bookkeeping finished), so a snapshot sees only the next request. */
export async function settled(s: Surroundings, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = JSON.stringify(await snapshot(s));
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = JSON.stringify(await snapshot(s));
    if (now === last) return;
    if (Date.now() > deadline) throw new Error('stored state never settled');
    last = now;
  }
}
