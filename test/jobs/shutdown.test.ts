/**
 * SIGTERM during a long job, in real processes: with time to spare the job
 * finishes before the process exits; cut off by the shutdown timeout, it is
 * recovered and completed by the next process (stalled-job recovery).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueueRegistry } from '../../src/jobs/job-system.ts';
import { defineJob } from '../../src/jobs/job-definition.ts';
import { JobAdmin } from '../../src/jobs/job-admin.ts';
import { encodeJobRef } from '../../src/jobs/job-ref.ts';
import { REDIS_URL, testConfig, waitFor } from './support.ts';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Worker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startWorker(prefix: string, tuning: { lockMs: number; stalledMs: number; shutdownMs: number }): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'worker-process.ts')], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      TEST_REDIS_URL: REDIS_URL,
      JOBS_TEST_PREFIX: prefix,
      JOBS_TEST_LOCK_MS: String(tuning.lockMs),
      JOBS_TEST_STALLED_MS: String(tuning.stalledMs),
      JOBS_TEST_SHUTDOWN_MS: String(tuning.shutdownMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

function setup(label: string) {
  const config = testConfig({}, label);
  const slow = defineJob({ name: 'slow', queue: 'mosaic:slow', description: 'takes a while', payload: z.object({ ms: z.number().int() }).strict(), attempts: 1 });
  const registry = createQueueRegistry(config, [slow]);
  return { prefix: config.valkey.keyPrefix, registry, admin: new JobAdmin(registry, null) };
}

describe('SIGTERM during a long job', () => {
  it('lets the job finish within the shutdown timeout before the process exits', async () => {
    const { prefix, registry, admin } = setup('term-finish');
    try {
      const worker = startWorker(prefix, { lockMs: 5000, stalledMs: 5000, shutdownMs: 20_000 });
      await waitFor('the worker to be ready', async () => worker.output().includes('ready'));
      const job = await (await registry.queue('mosaic:slow')).add('slow', { ms: 1500 }, { attempts: 1 });
      await waitFor('the job to start', async () => worker.output().includes(`started ${job.id}`));
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      const detail = await admin.getJob(encodeJobRef({ queue: 'mosaic:slow', jobId: job.id! }));
      expect(detail).toMatchObject({ state: 'completed', returnValue: { finishedBy: worker.child.pid } });
    } finally {
      await registry.close();
    }
  });

  it('leaves a job cut off by the timeout to the next process, which completes it', async () => {
    const { prefix, registry, admin } = setup('term-recover');
    try {
      const tuning = { lockMs: 1500, stalledMs: 500, shutdownMs: 300 };
      const first = startWorker(prefix, tuning);
      await waitFor('the first worker to be ready', async () => first.output().includes('ready'));
      const job = await (await registry.queue('mosaic:slow')).add('slow', { ms: 4000 }, { attempts: 1 });
      const ref = encodeJobRef({ queue: 'mosaic:slow', jobId: job.id! });
      await waitFor('the job to start', async () => first.output().includes(`started ${job.id}`));
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      // The process is gone but the job is not lost: it is still marked active, under a lock that will expire.
      expect((await admin.getJob(ref)).state).toBe('active');

      const second = startWorker(prefix, tuning);
      const done = await waitFor(
        'the next process to complete the job',
        async () => {
          const d = await admin.getJob(ref);
          return d.state === 'completed' || d.state === 'failed' ? d : null;
        },
        30_000,
      );
      expect(done).toMatchObject({ state: 'completed', returnValue: { finishedBy: second.child.pid } });
      expect(done.runs).toBe(2);
      expect(second.output()).toContain(`started ${job.id}`);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      await registry.close();
    }
  });
});
