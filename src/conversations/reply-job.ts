/**
 * The reply job: one per inbound message that needs an answer. Defined here,
 * apart from its handler, so every process that administers the queues (the
 * CLI too) knows the queue, not only the servers that run it.
 */
import { z } from 'zod';
import { defineJob } from '../jobs/job-definition.ts';

export const REPLY_JOB = defineJob({
  name: 'reply',
  queue: 'mosaic:replies',
  description: 'Answers the waiting messages of one conversation, in order (one job per inbound message).',
  payload: z.object({ conversationId: z.uuid(), userId: z.uuid(), messageId: z.uuid() }).strict(),
  attempts: 3,
  backoff: { baseMs: 2000, maxMs: 30_000 },
  concurrency: 8,
  // Two agent_logs inserts on every chat turn would be most of a turn's writes; failures and slow runs are still logged.
  lifecycleLog: 'problems',
});

/**
 * Reply jobs per process when the config does not say: an answer mostly
 * waits on its model, so many run per core; each holds a database
 * connection only for its few statements, so a few per connection.
 * `poolSize` null: the embedded database (one connection, in process).
 */
export function defaultReplyConcurrency(cores: number, poolSize: number | null): number {
  const byCores = Math.max(1, cores) * 16;
  return Math.max(REPLY_JOB.concurrency ?? 1, poolSize === null ? byCores : Math.min(byCores, poolSize * 4));
}
