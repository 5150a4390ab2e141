/**
 * Outages of what Mosaic depends on, during traffic: its private Valkey
 * stopped for 5 s and for a minute (it comes back empty, as a restarted
 * Valkey without persistence does), its private PostgreSQL stopped for
 * 15 s. No request hangs past its bound; a refused one is 503 with
 * Retry-After, never a 500; every accepted message is answered exactly
 * once after the outage; no false "no model can take this message"; the
 * log says when the outage started and ended in a few lines, and never
 * carries the token's hash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/identity/tokens.ts';
import { FaultEnv, REQUEST_BOUND_MS, sleep, type Sent } from './support.ts';

let env: FaultEnv;
beforeAll(async () => {
  env = await FaultEnv.create();
}, 300_000);
afterAll(async () => env?.close());

/** The long outage (the one slow case of the suite). */
const LONG_OUTAGE_MS = Number(process.env.FAULTS_LONG_OUTAGE_S ?? 60) * 1000;

async function outage(stop: () => Promise<void>, start: () => Promise<void>, ms: number): Promise<{ conv: string; sent: Sent[]; errorLines: number; errorEvents: string }> {
  const conv = await env.conversation();
  const errorsBefore = env.logs().filter((l) => Number(l.level) >= 50).length;
  const sent = await env.traffic(conv, ms + 4000, Math.max(300, Math.floor(ms / 40)), async () => {
    await sleep(1000);
    await stop();
    await sleep(ms);
    await start();
  });
  const rows = await env.answered(conv, sent.filter((s) => s.status === 202).map((s) => s.messageId!), 120_000);
  // Every stored message, not only those whose request saw 202, is answered exactly once.
  const users = rows.filter((r) => r.role === 'user');
  expect(users.length).toBeGreaterThanOrEqual(sent.filter((s) => s.status === 202).length);
  for (const u of users) expect(FaultEnv.answersTo(rows, u.id), `answers to ${u.content}`).toHaveLength(1);
  expect(rows.filter((r) => /No model can take this message|is down/.test(r.content))).toEqual([]);
  const errors = env.logs().filter((l) => Number(l.level) >= 50).slice(errorsBefore);
  // Which lines, for the failure message: the bound is on how many, and a new kind of line says what grew.
  const errorEvents = errors.map((l) => `${String(l.event ?? '?')}: ${String(l.msg ?? '')}`).join('\n');
  return { conv, sent, errorLines: errors.length, errorEvents };
}

function honest(sent: Sent[]) {
  expect(sent.filter((s) => s.hung)).toEqual([]);
  expect(sent.filter((s) => s.ms >= REQUEST_BOUND_MS)).toEqual([]);
  expect(sent.filter((s) => s.status !== 202 && s.status !== 503)).toEqual([]);
  const refused = sent.filter((s) => s.status === 503);
  expect(refused.length).toBeGreaterThan(0);
  for (const r of refused) expect(r).toMatchObject({ errorCode: 'service_unavailable', retryAfter: expect.stringMatching(/^\d+$/) });
}

describe('Valkey down during traffic', () => {
  it('for 5 s: refused fast with 503 + Retry-After, accepted messages answered once after', async () => {
    const { sent, errorLines, errorEvents } = await outage(() => env.redis.stop(), () => env.redis.start(), 5000);
    honest(sent);
    expect(errorLines, errorEvents).toBeLessThanOrEqual(12);
    expect(env.logs().some((l) => l.event === 'valkey.outage_started')).toBe(true);
    expect(env.logs().some((l) => l.event === 'valkey.outage_ended')).toBe(true);
  }, 240_000);

  it(`for ${LONG_OUTAGE_MS / 1000} s: the same, and the log stays a few lines`, async () => {
    const { sent, errorLines, errorEvents } = await outage(() => env.redis.stop(), () => env.redis.start(), LONG_OUTAGE_MS);
    honest(sent);
    expect(errorLines, errorEvents).toBeLessThanOrEqual(20);
  }, LONG_OUTAGE_MS + 240_000);
});

describe('PostgreSQL down during traffic', () => {
  it('for 15 s: the token check answers 503 (not 500) with Retry-After, fast; stored messages are answered once after; the token hash is never logged', async () => {
    const { sent, errorLines, errorEvents } = await outage(() => env.postgres.stop(), () => env.postgres.start(), 15_000);
    honest(sent);
    expect(errorLines, errorEvents).toBeLessThanOrEqual(20);
    expect(env.logs().some((l) => l.event === 'database.outage_started')).toBe(true);
    expect(env.logs().some((l) => l.event === 'database.outage_ended')).toBe(true);
    expect(env.rawLogs()).not.toContain(hashToken(env.token));
  }, 240_000);
});
