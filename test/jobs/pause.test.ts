/** Pause stops processing while jobs keep queuing; resume drains them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';
import { defineJob } from '../../src/jobs/job-definition.ts';
import { createJobSystem, jobWithHandler, type JobSystem } from '../../src/jobs/job-system.ts';
import { createPgliteDatabase } from '../support/databases.ts';
import { redisClient, silentLogger, sleep, testConfig, waitFor } from './support.ts';

let database: Database;
let valkey: Redis;
let system: JobSystem;
const done: number[] = [];

beforeAll(async () => {
  database = await createPgliteDatabase();
  valkey = redisClient();
  const work = defineJob({ name: 'work', queue: 'mosaic:work', description: 'records its number', payload: z.object({ n: z.number().int() }).strict() });
  system = createJobSystem({ config: testConfig({}, 'pause'), logger: silentLogger(), db: database.db, valkey, jobs: [jobWithHandler(work, async (p) => void done.push(p.n))] });
  await system.start();
});
afterAll(async () => {
  await system.stop();
  valkey.disconnect();
  await database.close();
});

describe('pausing a queue', () => {
  it('holds new jobs while paused and drains them on resume', async () => {
    await system.service.enqueue('work', { n: 0 });
    await waitFor('the first job', async () => done.includes(0));

    const paused = await system.admin.pause('mosaic:work');
    expect(paused.paused).toBe(true);
    for (const n of [1, 2, 3]) await system.service.enqueue('work', { n });
    // Long enough for a running worker to have taken them.
    await sleep(1500);
    expect(done).toEqual([0]);
    const held = (await system.admin.queues()).find((q) => q.name === 'mosaic:work')!;
    expect(held).toMatchObject({ paused: true, counts: { waiting: 3, paused: 3, active: 0 } });
    const listed = await system.admin.listJobs({ status: 'paused', queue: 'mosaic:work', limit: 10, offset: 0 });
    expect(listed.total).toBe(3);
    expect(listed.jobs.map((j) => j.state)).toEqual(['paused', 'paused', 'paused']);

    const resumed = await system.admin.resume('mosaic:work');
    expect(resumed.paused).toBe(false);
    await waitFor('the held jobs to run', async () => done.length === 4);
    expect(done.slice(1).sort()).toEqual([1, 2, 3]);
    const after = (await system.admin.queues()).find((q) => q.name === 'mosaic:work')!;
    expect(after.counts).toMatchObject({ waiting: 0, paused: 0, completed: 4 });
  });
});
