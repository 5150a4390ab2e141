/**
 * A real worker process for the shutdown test: runs one slow job kind and
 * stops on SIGTERM the way `mosaic start` does. Settings come from the env.
 */
import { z } from 'zod';
import { createQueueRegistry } from '../../src/jobs/job-system.ts';
import { defineJob } from '../../src/jobs/job-definition.ts';
import { JobQueueService } from '../../src/jobs/queue-service.ts';
import { createLogger } from '../../src/logging.ts';
import { configSchema } from '../../src/config/schema.ts';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const config = configSchema.parse({ valkey: { url: env('TEST_REDIS_URL') } });
config.valkey.keyPrefix = env('JOBS_TEST_PREFIX');
const slow = defineJob({ name: 'slow', queue: 'mosaic:slow', description: 'takes a while', payload: z.object({ ms: z.number().int() }).strict(), attempts: 1 });
const registry = createQueueRegistry(config, [slow]);
const service = new JobQueueService({
  registry,
  logger: createLogger('silent'),
  logSink: null,
  timezone: 'UTC',
  tuning: {
    lockDurationMs: Number(env('JOBS_TEST_LOCK_MS')),
    stalledIntervalMs: Number(env('JOBS_TEST_STALLED_MS')),
    shutdownTimeoutMs: Number(env('JOBS_TEST_SHUTDOWN_MS')),
  },
});
service.handle<{ ms: number }>('slow', async (payload, ctx) => {
  process.stdout.write(`started ${ctx.jobId}\n`);
  await new Promise((resolve) => setTimeout(resolve, payload.ms));
  return { finishedBy: process.pid };
});
await service.startWorkers();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  process.stdout.write('stopping\n');
  void service.stop().then(() => {
    process.stdout.write('stopped\n');
    process.exit(0);
  });
});
