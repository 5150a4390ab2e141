/**
 * Failing jobs: retried with growing, capped gaps, failed after their
 * attempts, completed after an admin retry once the cause is fixed; every
 * step is in agent_logs. A log store that fails never fails a job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';
import { backoffDelay } from '../../src/jobs/backoff.ts';
import { defineJob } from '../../src/jobs/job-definition.ts';
import { createJobSystem, createQueueRegistry, jobWithHandler, type JobSystem } from '../../src/jobs/job-system.ts';
import { JobQueueService } from '../../src/jobs/queue-service.ts';
import { JobAdmin } from '../../src/jobs/job-admin.ts';
import { createPgDatabase } from '../support/databases.ts';
import { redisClient, silentLogger, testConfig, waitFor } from './support.ts';

let database: Database;
let valkey: Redis;
const systems: JobSystem[] = [];

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  valkey = redisClient();
});
afterAll(async () => {
  for (const s of systems) await s.stop().catch(() => undefined);
  valkey.disconnect();
  await database.close();
});

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const policy = { baseMs: 5000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelay(n, policy))).toEqual([5000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
  });
});

describe('a failing job', () => {
  it('is retried with growing gaps, fails after its attempts, and completes after an admin retry', async () => {
    const config = testConfig({ jobs: { attempts: 4, backoffBaseMs: 150, backoffMaxMs: 400 } }, 'retry');
    const attempts: Array<{ at: number; attempt: number }> = [];
    let broken = true;
    const flaky = defineJob({ name: 'flaky', queue: 'mosaic:flaky', description: 'fails while broken', payload: z.object({ n: z.number() }).strict() });
    const system = createJobSystem({
      config,
      logger: silentLogger(),
      db: database.db,
      valkey,
      jobs: [
        jobWithHandler(flaky, async (payload, ctx) => {
          attempts.push({ at: Date.now(), attempt: ctx.attempt });
          if (broken) throw new Error('the upstream service is down');
          return { doubled: payload.n * 2 };
        }),
      ],
    });
    systems.push(system);
    await system.start();

    const job = await system.service.enqueue('flaky', { n: 21 });
    const failed = await waitFor('the job to fail', async () => {
      const detail = await system.admin.getJob(job.id);
      return detail.state === 'failed' ? detail : null;
    });
    expect(failed.attemptsMade).toBe(4);
    expect(failed.failedReason).toBe('the upstream service is down');
    expect(failed.stacktrace.length).toBeGreaterThan(0);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    // The gaps between attempts are at least the backoff: 150, 300, then capped at 400.
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(150);
    expect(gaps[1]).toBeGreaterThanOrEqual(300);
    expect(gaps[2]).toBeGreaterThanOrEqual(400);

    // The lifecycle is in agent_logs, with the delays BullMQ was told to wait.
    const lines = await waitFor('the failed line', async () => {
      const l = await system.logs.listForJob('mosaic:flaky', job.jobId);
      return l.some((x) => x.event === 'failed') ? l : null;
    });
    expect(lines.map((l) => `${l.event}:${l.attempt}`)).toEqual([
      'started:1', 'retried:1', 'started:2', 'retried:2', 'started:3', 'retried:3', 'started:4', 'failed:4',
    ]);
    expect(lines.filter((l) => l.event === 'retried').map((l) => l.data.retryInMs)).toEqual([150, 300, 400]);
    expect(lines.find((l) => l.event === 'failed')).toMatchObject({ level: 'error', error: 'the upstream service is down', queue: 'mosaic:flaky' });
    expect((await system.admin.getJob(job.id)).logs).toHaveLength(8);

    // Only failed jobs can be retried.
    await expect(system.admin.retryJob((await system.service.enqueue('flaky', { n: 1 }, { delayMs: 60_000 })).id)).rejects.toMatchObject({
      httpStatus: 409,
      details: { state: 'delayed' },
    });

    broken = false;
    await system.admin.retryJob(job.id);
    const done = await waitFor('the retried job to complete', async () => {
      const detail = await system.admin.getJob(job.id);
      return detail.state === 'completed' ? detail : null;
    });
    expect(done.returnValue).toEqual({ doubled: 42 });
    expect(done.attemptsMade).toBe(1);
    const after = await waitFor('the completed line', async () => {
      const l = await system.logs.listForJob('mosaic:flaky', job.jobId);
      return l.some((x) => x.event === 'completed') ? l : null;
    });
    expect(after.slice(8).map((l) => `${l.event}:${l.attempt}`)).toEqual(['started:1', 'completed:1']);
  });

  it('rejects an invalid payload at enqueue, and fails one that reaches the worker without retrying', async () => {
    const config = testConfig({ jobs: { attempts: 3, backoffBaseMs: 100, backoffMaxMs: 100 } }, 'payload');
    const strict = defineJob({ name: 'strict', queue: 'mosaic:strict', description: 'validates', payload: z.object({ id: z.uuid() }).strict() });
    let runs = 0;
    const system = createJobSystem({ config, logger: silentLogger(), db: database.db, valkey, jobs: [jobWithHandler(strict, async () => void runs++)] });
    systems.push(system);
    await system.start();
    await expect(system.service.enqueue('strict', { id: 'nope' })).rejects.toThrow();
    // Written by something that skipped validation (an old release, a hand-made job).
    const raw = await (await system.registry.queue('mosaic:strict')).add('strict', { id: 'nope' }, { attempts: 3 });
    const failed = await waitFor('the bad job to fail', async () => ((await raw.getState()) === 'failed' ? true : null));
    expect(failed).toBe(true);
    const fresh = await (await system.registry.queue('mosaic:strict')).getJob(raw.id!);
    expect(fresh!.attemptsMade).toBe(1);
    expect(fresh!.failedReason).toMatch(/invalid payload for strict: id:/);
    expect(runs).toBe(0);
  });
});

describe('a broken agent_logs store', () => {
  it('never fails a job', async () => {
    const config = testConfig({}, 'nolog');
    const registry = createQueueRegistry(config, [defineJob({ name: 'plain', queue: 'mosaic:plain', description: 'ok', payload: z.object({}).strict() })]);
    const service = new JobQueueService({
      registry,
      logger: silentLogger(),
      logSink: { append: async () => Promise.reject(new Error('agent_logs is unavailable')) },
      timezone: 'UTC',
      tuning: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, shutdownTimeoutMs: 5000 },
    });
    service.handle('plain', async () => 'done');
    await service.startWorkers();
    try {
      const job = await service.enqueue('plain', {});
      const admin = new JobAdmin(registry, null);
      const detail = await waitFor('the job to complete', async () => {
        const d = await admin.getJob(job.id);
        return d.state === 'completed' || d.state === 'failed' ? d : null;
      });
      expect(detail).toMatchObject({ state: 'completed', returnValue: 'done' });
    } finally {
      await service.stop();
    }
  });
});
