/**
 * What one chat turn costs the gateway, counted on a real REST turn
 * (`POST …/messages?wait=true`, answered by a provider simulator): SQL round
 * trips and Redis commands from the request to the end of its reply job.
 * Counts are deterministic; the budget in docs/performance.md is held here.
 * No timing is measured or asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { measure, tally, type Measure } from '../support/command-count.ts';

/** The budget per turn (docs/performance.md). */
export const TURN_BUDGET = { sql: 13, redis: 20 };

/** Reply jobs finished so far (read from the process's own metrics: no SQL, no Redis). */
async function repliesFinished(t: TestMosaic): Promise<number> {
  const metric = t.core.metrics.registry.getSingleMetric('mosaic_job_run_seconds');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => (v as { metricName?: string }).metricName === 'mosaic_job_run_seconds_count' && v.labels.queue === 'mosaic:replies').reduce((n, v) => n + v.value, 0);
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One REST turn, measured until its reply job has finished. */
async function turn(t: TestMosaic, token: string, conversationId: string, content: string): Promise<Measure> {
  const before = await repliesFinished(t);
  return measure(t.core.database, async () => {
    const res = await t.api<{ reply: { content: string } | null }>(token, 'POST', `/api/conversations/${conversationId}/messages?wait=true`, { content });
    expect(res.status).toBe(200);
    expect(res.body.reply?.content).toBe(`Echo: ${content}`);
    await until(async () => (await repliesFinished(t)) > before, 'the reply job to finish');
  });
}

for (const database of ['postgres', 'pglite'] as const) {
  describe(`a REST turn's round trips on ${database}`, () => {
    let t: TestMosaic;
    let token: string;
    let conversationId: string;

    beforeAll(async () => {
      t = await startTestMosaic({ database, providers: ['ollama'], config: { jobs: { stalledIntervalMs: 600_000 } } });
      token = (await t.createUser('counted')).token;
      conversationId = (await t.api<{ id: string }>(token, 'POST', '/api/conversations', { title: 'Counted' })).body.id;
      // The first turn opens the session and fills caches; the budget is for the turns after it.
      await turn(t, token, conversationId, 'hello');
    }, 180_000);
    afterAll(async () => t?.stop());

    it('stays within the budget per turn', async () => {
      const runs: Measure[] = [];
      for (let i = 0; i < 3; i++) runs.push(await turn(t, token, conversationId, `question ${i}`));
      for (const run of runs) {
        const detail = `${run.sql} SQL round trips, ${run.redis.length} Redis commands ${JSON.stringify(tally(run.redis))}`;
        console.log(`${database} turn: ${detail}`);
        if (process.env.TURN_DETAIL) console.log(run.redis.map((c) => `${c.name} ${c.key}`).join('\n'));
        expect(run.sql, detail).toBeLessThanOrEqual(TURN_BUDGET.sql);
        expect(run.redis.length, detail).toBeLessThanOrEqual(TURN_BUDGET.redis);
      }
    });
  });
}
