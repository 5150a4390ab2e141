/**
 * Makes sure a job that must run will run, whatever happened to its earlier
 * copy: for work whose truth is elsewhere (a stored message without an
 * answer), the caller asks for it again and this settles what BullMQ holds.
 *
 * - no job under that id: added (Valkey lost it, or it was never added);
 * - waiting, delayed, prioritized: it will run; nothing to do;
 * - active with its lock held by a live worker: running; nothing to do;
 * - active whose worker is dead (its lock token names a dead process, or
 *   the lock is gone), completed or failed (yet the work is not done): a
 *   copy is added under the next id `<id>-r<n>` at once, instead of waiting
 *   for BullMQ's stalled check; an old copy, when BullMQ puts it back,
 *   finds its work done. Copies are looked at like the job itself, so a
 *   copy on its way is never doubled; a failed job's reason is returned for
 *   the caller's notice.
 */
import type { QueueRegistry } from './queue-registry.ts';
import { enqueueJob } from './queue-service.ts';
import { lockHolder } from '../valkey/liveness.ts';

export type EnsurePrevious = 'missing' | 'stalled' | 'completed' | 'failed';

export type EnsureOutcome =
  | { outcome: 'pending' | 'running' }
  | { outcome: 'requeued' | 'refused'; previous: EnsurePrevious; failedReason?: string; jobId?: string };

export interface EnsureChecks {
  /** Whether the process behind a lock token's holder is known to be dead. */
  isDead(holder: string): Promise<boolean>;
  /** Asked before adding the job again; false: do not (the caller's bound is reached). */
  mayRequeue(previous: EnsurePrevious, failedReason: string | undefined): Promise<boolean>;
  /** Copies the job may have besides itself. */
  maxCopies: number;
}

export async function ensureJob<P>(registry: QueueRegistry, name: string, payload: P, jobId: string, checks: EnsureChecks): Promise<EnsureOutcome> {
  const definition = registry.definition(name);
  if (!definition) throw new Error(`job definition "${name}" is not known`);
  const queue = await registry.queue(definition.queue);
  const client = await registry.redis();
  // The job and its copies (`<id>-r1`, `-r2` …), looked at in order: any that waits or runs with a live
  // worker means the work is on its way; otherwise the first free id gets a new copy.
  let previous: EnsurePrevious = 'missing';
  let failedReason: string | undefined;
  for (let n = 0; n <= checks.maxCopies; n++) {
    const id = n === 0 ? jobId : `${jobId}-r${n}`;
    const job = await queue.getJob(id);
    const state = job ? await job.getState() : 'unknown';
    if (!job || state === 'unknown') {
      const reason = failedReason ? { failedReason } : {};
      if (!(await checks.mayRequeue(previous, failedReason))) return { outcome: 'refused', previous, ...reason };
      await enqueueJob(registry, name, payload, { jobId: id });
      return { outcome: 'requeued', previous, jobId: id, ...reason };
    }
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') return { outcome: 'pending' };
    if (state === 'active') {
      const token = await client.get(`${queue.toKey(id)}:lock`);
      if (token && !(await checks.isDead(lockHolder(token)))) return { outcome: 'running' };
      previous = 'stalled';
    } else {
      previous = state === 'failed' ? 'failed' : 'completed';
      if (state === 'failed') failedReason = job.failedReason;
    }
  }
  return { outcome: 'refused', previous, ...(failedReason ? { failedReason } : {}) };
}
