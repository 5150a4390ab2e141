/**
 * /api/admin/jobs through the real HTTP app, real tokens and the jobs
 * plugin: admins only, bad parameters are 400s naming what is allowed, and
 * retry / run / pause / delete do what they say.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import { defineJob } from '../../src/jobs/job-definition.ts';
import { startJobs } from '../../src/jobs/jobs-plugin.ts';
import { createQueueRegistry, jobWithHandler } from '../../src/jobs/job-system.ts';
import { encodeJobRef } from '../../src/jobs/job-ref.ts';
import type { MosaicConfig } from '../../src/config/schema.ts';
import { createPgDatabase } from '../support/databases.ts';
import { buildTestApp } from '../support/http.ts';
import { redisClient, silentLogger, testConfig, waitFor } from './support.ts';

let database: Database;
let valkey: Redis;
let app: Express;
let stop: () => Promise<void>;
let admin: string;
let member: string;
let broken = true;
let config: MosaicConfig;

const boom = defineJob({ name: 'boom', queue: 'mosaic:boom', description: 'fails while broken', payload: z.object({}).strict(), attempts: 1 });

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  valkey = redisClient();
  config = testConfig({}, 'api');
  const accounts = new AccountService(database.db);
  admin = (await accounts.createUser({ username: 'root', admin: true })).token;
  member = (await accounts.createUser({ username: 'alice' })).token;
  const started = await startJobs(
    { config, logger: silentLogger(), database, valkey },
    { healthProbe: async () => ({ probed: [] }) },
    [
      jobWithHandler(boom, async () => {
        if (broken) throw new Error('boom is broken');
        return 'fixed';
      }),
    ],
  );
  stop = started.stop;
  ({ app } = buildTestApp(database, started.routes));
});
afterAll(async () => {
  await stop();
  valkey.disconnect();
  await database.close();
});

const as = (token: string) => ({ Authorization: `Bearer ${token}` });

async function waitForState(id: string, states: string[]) {
  return waitFor(`job ${id} to reach ${states.join('/')}`, async () => {
    const res = await request(app).get(`/api/admin/jobs/${id}`).set(as(admin));
    return states.includes(res.body.state) ? res.body : null;
  });
}

describe('who may use /api/admin/jobs', () => {
  it('refuses member tokens with 403 and missing tokens with 401', async () => {
    const id = Buffer.from('mosaic:boom\u00001').toString('base64url');
    const calls = [
      request(app).get('/api/admin/jobs'),
      request(app).get('/api/admin/jobs/queues'),
      request(app).get(`/api/admin/jobs/${id}`),
      request(app).post(`/api/admin/jobs/${id}/retry`),
      request(app).delete(`/api/admin/jobs/${id}`),
      request(app).post('/api/admin/jobs/queues/mosaic:boom/pause'),
      request(app).post('/api/admin/jobs/queues/mosaic:boom/resume'),
      request(app).post('/api/admin/jobs/queues/mosaic:session-gc/run'),
    ];
    for (const call of calls) {
      const res = await call.set(as(member));
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await request(app).get('/api/admin/jobs')).status).toBe(401);
    // The member's attempt paused nothing.
    const queues = await request(app).get('/api/admin/jobs/queues').set(as(admin));
    expect(queues.body.queues.find((q: { name: string }) => q.name === 'mosaic:boom').paused).toBe(false);
  });
});

describe('bad parameters', () => {
  it('are 400s naming the allowed values', async () => {
    const status = await request(app).get('/api/admin/jobs?status=exploded').set(as(admin));
    expect(status.status).toBe(400);
    expect(status.body.error.message).toMatch(/unknown status "exploded"; statuses: waiting, active, completed, failed, delayed, paused/);
    expect(status.body.error.details.allowed).toContain('failed');

    const queue = await request(app).get('/api/admin/jobs?queue=mosaic:nope').set(as(admin));
    expect(queue.status).toBe(400);
    expect(queue.body.error.message).toMatch(/unknown queue "mosaic:nope"; queues: .*mosaic:session-gc/);

    for (const q of ['limit=0', 'limit=abc', 'offset=-1', 'limit=1000', 'colour=blue']) {
      const res = await request(app).get(`/api/admin/jobs?${q}`).set(as(admin));
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
    const badId = await request(app).get('/api/admin/jobs/not!a!job').set(as(admin));
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toMatch(/not a job id/);
    const unknownJob = await request(app).get(`/api/admin/jobs/${Buffer.from('mosaic:boom\u0000999999').toString('base64url')}`).set(as(admin));
    expect(unknownJob.status).toBe(404);
    // A queue in the path is a resource: unknown is 404 (as a ?queue= filter it is a bad value, 400).
    const pause = await request(app).post('/api/admin/jobs/queues/mosaic:nope/pause').set(as(admin));
    expect(pause.status).toBe(404);
    expect(pause.body.error.code).toBe('not_found');
    expect(pause.body.error.message).toMatch(/queues: /);
    const run = await request(app).post('/api/admin/jobs/queues/mosaic:session-gc/run').set(as(admin)).send({ job: 'other' });
    expect(run.status).toBe(400);
    expect(run.body.error.message).toMatch(/choose one of: session-gc/);
  });
});

describe('steering jobs', () => {
  it('lists queues with counts and the next scheduled run; a job without a handler shows as unscheduled', async () => {
    const res = await request(app).get('/api/admin/jobs/queues').set(as(admin));
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.queues.map((q: { name: string }) => [q.name, q]));
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['mosaic:summarization', 'mosaic:log-tiers', 'mosaic:session-gc', 'mosaic:health-probes', 'mosaic:retention-purge', 'mosaic:boom']));
    expect(byName['mosaic:session-gc']).toMatchObject({ paused: false, counts: { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 1, paused: 0 } });
    expect(byName['mosaic:session-gc'].nextRunAt).toMatch(/T04:00:00.000Z$/);
    expect(byName['mosaic:session-gc'].jobs[0]).toMatchObject({ name: 'session-gc', scheduled: true, pattern: '0 4 * * *', timezone: 'UTC' });
    expect(byName['mosaic:health-probes'].jobs[0]).toMatchObject({ scheduled: true, every: 60_000 });
    expect(byName['mosaic:summarization'].jobs[0]).toMatchObject({ scheduled: false, nextRunAt: null });
    expect(byName['mosaic:summarization'].jobs[0].note).toMatch(/no handler/);
    expect(byName['mosaic:retention-purge'].jobs[0].scheduled).toBe(false);
  });

  it('runs a scheduled job now, shows it with its log lines, refuses to retry it, and deletes it', async () => {
    const run = await request(app).post('/api/admin/jobs/queues/mosaic:session-gc/run').set(as(admin));
    expect(run.status).toBe(201);
    expect(run.body).toMatchObject({ queue: 'mosaic:session-gc', name: 'session-gc' });
    const done = await waitForState(run.body.id, ['completed', 'failed']);
    expect(done).toMatchObject({ state: 'completed', returnValue: { endedSessions: 0, ephemeralKeys: { scanned: 0, leaked: 0 } } });
    const withLogs = await waitFor('its log lines', async () => {
      const res = await request(app).get(`/api/admin/jobs/${run.body.id}`).set(as(admin));
      return res.body.logs.length >= 2 ? res.body : null;
    });
    expect(withLogs.logs.map((l: { event: string }) => l.event)).toEqual(['started', 'completed']);

    const retry = await request(app).post(`/api/admin/jobs/${run.body.id}/retry`).set(as(admin));
    expect(retry.status).toBe(409);
    expect(retry.body.error).toMatchObject({ code: 'conflict', details: { state: 'completed' } });

    const listed = await request(app).get('/api/admin/jobs?status=completed&queue=mosaic:session-gc').set(as(admin));
    expect(listed.body.jobs.map((j: { id: string }) => j.id)).toContain(run.body.id);
    expect((await request(app).delete(`/api/admin/jobs/${run.body.id}`).set(as(admin))).status).toBe(204);
    expect((await request(app).get(`/api/admin/jobs/${run.body.id}`).set(as(admin))).status).toBe(404);
  });

  it('retries a failed job after its cause is fixed', async () => {
    const run = await request(app).post('/api/admin/jobs/queues/mosaic:boom/run').set(as(admin));
    expect(run.status).toBe(409);
    expect(run.body.error.message).toMatch(/no scheduled job/);

    // Another service enqueues a job; it fails.
    const registry = createQueueRegistry(config, [boom]);
    try {
      const job = await (await registry.queue('mosaic:boom')).add('boom', {}, registry.jobOptions(boom));
      const id = encodeJobRef({ queue: 'mosaic:boom', jobId: job.id! });
      const failed = await waitForState(id, ['failed']);
      expect(failed).toMatchObject({ failedReason: 'boom is broken', attemptsMade: 1, attempts: 1 });
      expect(failed.stacktrace[0]).toMatch(/boom is broken/);
      const listed = await request(app).get('/api/admin/jobs?status=failed').set(as(admin));
      expect(listed.body.jobs.map((j: { id: string }) => j.id)).toContain(id);

      broken = false;
      const retry = await request(app).post(`/api/admin/jobs/${id}/retry`).set(as(admin));
      expect(retry.status).toBe(200);
      const done = await waitForState(id, ['completed', 'failed']);
      expect(done).toMatchObject({ state: 'completed', returnValue: 'fixed' });
      const lines = await waitFor('the completed line', async () => {
        const res = await request(app).get(`/api/admin/jobs/${id}`).set(as(admin));
        return res.body.logs.some((l: { event: string }) => l.event === 'completed') ? res.body.logs : null;
      });
      expect(lines.map((l: { event: string }) => l.event)).toEqual(['started', 'failed', 'started', 'completed']);
    } finally {
      await registry.close();
    }
  });

  it('pages the job list newest first', async () => {
    const page1 = await request(app).get('/api/admin/jobs?limit=1&offset=0').set(as(admin));
    const page2 = await request(app).get('/api/admin/jobs?limit=1&offset=1').set(as(admin));
    expect(page1.body.total).toBe(page2.body.total);
    expect(page1.body.total).toBeGreaterThanOrEqual(2);
    expect(page1.body.jobs).toHaveLength(1);
    expect(page1.body.jobs[0].id).not.toBe(page2.body.jobs[0].id);
    expect(Date.parse(page1.body.jobs[0].createdAt)).toBeGreaterThanOrEqual(Date.parse(page2.body.jobs[0].createdAt));
  });
});
