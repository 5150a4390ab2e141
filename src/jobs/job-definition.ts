/** What a job is: its name, queue, payload schema, schedule and retry policy. */
import type { z } from 'zod';

export type JobSchedule =
  | { cron: string; timezone?: string }
  /** Fixed interval; used for probes and for short schedules in tests. */
  | { everyMs: number };

export interface BackoffPolicy {
  /** First retry delay; it doubles each attempt. */
  baseMs: number;
  /** No retry waits longer than this. */
  maxMs: number;
}

export interface JobDefinition<P = unknown> {
  /** Unique across all queues; also the id of its schedule. */
  name: string;
  /** `mosaic:<name>`. */
  queue: string;
  description: string;
  payload: z.ZodType<P>;
  schedule?: JobSchedule;
  /** Where the schedule is configured (a config key or env var), shown to admins. */
  scheduleSource?: string;
  /** Payload of the jobs the schedule creates. */
  scheduledPayload?: P;
  attempts?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Jobs of this queue one process runs at once (the highest of the queue's definitions wins). */
  concurrency?: number;
  /**
   * Which lifecycle lines go to agent_logs. 'all' (the default): started,
   * completed, retried, failed, stalled. 'problems': a job run on every chat
   * turn would add two inserts to each; only retries, failures, stalls and
   * runs slower than `SLOW_JOB_MS` are written (the metrics count the rest).
   */
  lifecycleLog?: 'all' | 'problems';
}

/** A run this long is worth a line even for a job that logs only its problems. */
export const SLOW_JOB_MS = 30_000;

export interface JobContext {
  queue: string;
  jobId: string;
  name: string;
  /** 1 for the first run, 2 for the first retry … */
  attempt: number;
  /** Aborted when the process shuts down and the job ran past the shutdown timeout. */
  signal: AbortSignal;
  /** Records how far the job got (shown as `progress` in the job's detail); best effort, never fails the job. */
  progress(data: Record<string, unknown>): Promise<void>;
}

export type JobHandler<P = unknown> = (payload: P, context: JobContext) => Promise<unknown>;

export function defineJob<P>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}

export function describeSchedule(schedule: JobSchedule | undefined): string | null {
  if (!schedule) return null;
  return 'cron' in schedule ? `cron "${schedule.cron}"${schedule.timezone ? ` (${schedule.timezone})` : ''}` : `every ${schedule.everyMs} ms`;
}

/**
 * Thrown by a handler when retrying cannot help (what the job refers to does
 * not exist here): the job fails at once, with this message as its reason.
 */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
}
