/**
 * Schedules: a short repeatable job runs once per tick across two replicas;
 * registration is idempotent; a changed cron replaces the schedule; a job
 * without a handler is not scheduled and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../../src/db/client.ts';
import { defineJob } from '../../src/jobs/job-definition.ts';
import { createJobSystem, jobWithHandler, type JobSystem } from '../../src/jobs/job-system.ts';
import type { MosaicConfig } from '../../src/config/schema.ts';
import type { Redis } from 'ioredis';
import { createPgDatabase } from '../support/databases.ts';
import { redisClient, silentLogger, sleep, testConfig, waitFor } from './support.ts';

let database: Database;
const clients: Redis[] = [];
const systems: JobSystem[] = [];

beforeAll(async () => {
  ({ database } = await createPgDatabase());
});
afterAll(async () => {
  for (const s of systems) await s.stop().catch(() => undefined);
  for (const c of clients) c.disconnect();
  await database.close();
});

function system(config: MosaicConfig, extra: Parameters<typeof createJobSystem>[0]['jobs'] = [], handlers: Parameters<typeof createJobSystem>[0]['handlers'] = {}): JobSystem {
  const valkey = redisClient();
  clients.push(valkey);
  const s = createJobSystem({ config, logger: silentLogger(), db: database.db, valkey, jobs: extra, handlers });
  systems.push(s);
  return s;
}

const tickJob = defineJob({ name: 'tick', queue: 'mosaic:tick', description: 'test tick', payload: z.object({}).strict(), schedule: { everyMs: 1000 }, scheduledPayload: {} });

describe('a repeatable job with two replicas running', () => {
  it('runs on schedule, once per tick', async () => {
    const config = testConfig({}, 'tick');
    const runs: Array<{ replica: string; jobId: string; at: number }> = [];
    const replicas = ['a', 'b'].map((replica) =>
      system(config, [jobWithHandler(tickJob, async (_p, ctx) => void runs.push({ replica, jobId: ctx.jobId, at: Date.now() }))]),
    );
    await Promise.all(replicas.map((r) => r.start()));

    await waitFor('four ticks', async () => runs.length >= 4, 15_000);
    await sleep(300);
    const ids = runs.map((r) => r.jobId);
    // Every run is a distinct tick of the one schedule: nothing ran twice.
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^repeat:tick:\d+$/);
    const tickTimes = ids.map((id) => Number(id.split(':')[2])).sort((a, b) => a - b);
    for (let i = 1; i < tickTimes.length; i++) expect(tickTimes[i]! - tickTimes[i - 1]!).toBeGreaterThanOrEqual(1000);

    const queue = await replicas[0]!.registry.queue('mosaic:tick');
    expect(await queue.getJobSchedulersCount()).toBe(1);
    const summary = (await replicas[0]!.admin.queues()).find((q) => q.name === 'mosaic:tick')!;
    expect(summary.jobs[0]).toMatchObject({ name: 'tick', scheduled: true, every: 1000 });
    expect(summary.nextRunAt).not.toBeNull();
    // The completed lines are in agent_logs, one per run.
    const lines = await replicas[0]!.logs.listForJob('mosaic:tick', ids[0]!);
    expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(['started', 'completed']));
  });
});

describe('schedule registration', () => {
  it('is idempotent across restarts and replicas, and a changed cron replaces the schedule', async () => {
    const base = testConfig({}, 'reg');
    const first = await system(base).service.syncSchedules();
    expect(first.find((r) => r.name === 'log-tiers')?.outcome).toBe('created');

    // Two more replicas start with the same config at once.
    const again = await Promise.all([system(base).service.syncSchedules(), system(base).service.syncSchedules()]);
    for (const reports of again) expect(reports.find((r) => r.name === 'log-tiers')?.outcome).toBe('unchanged');

    const admin = systems.at(-1)!;
    const queue = await admin.registry.queue('mosaic:log-tiers');
    expect(await queue.getJobSchedulersCount()).toBe(1);
    expect(await queue.getDelayedCount()).toBe(1);

    // The operator changes JOBS_CRON_LOG_TIERS and restarts.
    const changed = structuredClone(base);
    changed.jobs.schedules.logTiers = '30 2 * * *';
    const reports = await system(changed).service.syncSchedules();
    expect(reports.find((r) => r.name === 'log-tiers')?.outcome).toBe('replaced');
    const schedulers = await queue.getJobSchedulers(0, -1, true);
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: 'log-tiers', pattern: '30 2 * * *', tz: 'UTC' });
    const delayed = await queue.getJobs(['delayed']);
    expect(delayed).toHaveLength(1);
    const runAt = new Date(delayed[0]!.timestamp + delayed[0]!.delay);
    expect([runAt.getUTCHours(), runAt.getUTCMinutes()]).toEqual([2, 30]);
  });

  it('does not schedule a job whose handler is missing, and shows why', async () => {
    const config = testConfig({}, 'nohandler');
    const withHandler = system(config, [], { summarization: async () => ({ summarized: 0 }) });
    expect((await withHandler.service.syncSchedules()).find((r) => r.name === 'summarization')?.outcome).toBe('created');

    // A restart without the summarization service removes its schedule.
    const without = system(config);
    const reports = await without.service.syncSchedules();
    expect(reports.find((r) => r.name === 'summarization')).toMatchObject({ outcome: 'removed' });
    expect(reports.find((r) => r.name === 'health-probe')).toMatchObject({ outcome: 'not-scheduled' });
    expect(reports.find((r) => r.name === 'retention-purge')).toMatchObject({ outcome: 'not-scheduled' });

    const queues = await without.admin.queues();
    const summarization = queues.find((q) => q.name === 'mosaic:summarization')!;
    expect(summarization.jobs[0]).toMatchObject({ name: 'summarization', scheduled: false, nextRunAt: null });
    expect(summarization.jobs[0]!.note).toMatch(/no handler/);
    expect(summarization.counts.delayed).toBe(0);
    expect(queues.find((q) => q.name === 'mosaic:session-gc')!.jobs[0]).toMatchObject({ scheduled: true });
    await expect(without.admin.runNow('mosaic:summarization')).rejects.toMatchObject({ httpStatus: 409 });
  });
});
