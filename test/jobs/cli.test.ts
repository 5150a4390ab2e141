/** `mosaic jobs …` over the same admin operations, against the real Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';
import { registerJobCommands } from '../../src/jobs/cli-commands.ts';
import { createJobSystem, type JobSystem } from '../../src/jobs/job-system.ts';
import { createPgliteDatabase } from '../support/databases.ts';
import { cliHelpers } from '../support/cli-helpers.ts';
import { redisClient, silentLogger, testConfig, waitFor } from './support.ts';

const config = testConfig({}, 'cli');
let database: Database;
let valkey: Redis;
let system: JobSystem;

beforeAll(async () => {
  database = await createPgliteDatabase();
  valkey = redisClient();
  system = createJobSystem({ config, logger: silentLogger(), db: database.db, valkey });
  await system.start();
});
afterAll(async () => {
  await system.stop();
  valkey.disconnect();
  await database.close();
});

async function cli(...args: string[]): Promise<string[]> {
  const out: string[] = [];
  const program = new Command('mosaic').exitOverride();
  // As the CLI runs them without a server: its own queue registry over the same Valkey prefix.
  registerJobCommands(program, cliHelpers(config, database), (line) => void out.push(line));
  await program.parseAsync(['node', 'mosaic', 'jobs', ...args]);
  return out;
}

describe('mosaic jobs', () => {
  it('lists queues, pauses, resumes, runs a scheduled job and lists it', async () => {
    const queues = (await cli('queues')).join('\n');
    expect(queues).toMatch(/mosaic:session-gc\twaiting 0/);
    // Every queue, the reply queue too (defined beside the conversations, not among the housekeeping jobs).
    expect(queues).toMatch(/^mosaic:replies\twaiting 0/m);
    expect(queues).toMatch(/summarization\tnot scheduled \(Valkey holds no schedule/);

    expect((await cli('pause', 'mosaic:log-tiers'))[0]).toMatch(/^mosaic:log-tiers \(paused\)/);
    expect((await system.admin.queues()).find((q) => q.name === 'mosaic:log-tiers')!.paused).toBe(true);
    expect((await cli('resume', 'mosaic:log-tiers'))[0]).toMatch(/^mosaic:log-tiers\t/);

    const run = (await cli('run', 'mosaic:log-tiers'))[0]!;
    expect(run).toMatch(/^enqueued: \S+\tmosaic:log-tiers\tlog-tiers\t/);
    const id = run.split('\t')[0]!.replace('enqueued: ', '');
    await waitFor('the run to complete', async () => (await system.admin.getJob(id)).state === 'completed');
    const listed = await cli('list', '--status', 'completed', '--queue', 'mosaic:log-tiers');
    expect(listed[0]).toMatch(new RegExp(`^${id}\\tmosaic:log-tiers\\tlog-tiers\\tcompleted\\tattempts 1/5`));
    const shown = JSON.parse((await cli('show', id)).join('\n'));
    expect(shown.logs.map((l: { event: string }) => l.event)).toEqual(['started', 'completed']);
    await expect(cli('retry', id)).rejects.toThrow(/only failed jobs can be retried; this job is completed/);
    await expect(cli('list', '--status', 'lost')).rejects.toThrow(/unknown status "lost"; statuses: waiting/);
    await expect(cli('pause', 'mosaic:nope')).rejects.toThrow(/unknown queue "mosaic:nope"/);
  });
});
