/**
 * Makes sure a job that must run will run, whatever happened to its earlier
 * copy: for work whose truth is elsewhere (a stored message without an
 * answer), the caller asks for it again and this settles what BullMQ holds.
 *
 * - no job under that id: added (Valkey lost it, or it was never added);
 * - waiting, delayed, prioritized: it will run; nothing to do;
 * - active with its lock held by a live worker: running; nothing to do;
 * - active whose worker is dead (its lock token names a dead process, or
 *   the lock is gone): added again under `fallbackId` at once, instead of
 *   waiting for BullMQ's stalled check; the old copy, when it is put back,
 *   finds its work done;
 * - completed or failed (yet the work is not done): removed and added again
 *   under the same id. A failed job's reason is returned for the caller's
 *   notice.
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
}

export async function ensureJob<P>(registry: QueueRegistry, name: string, payload: P, jobId: string, checks: EnsureChecks): Promise<EnsureOutcome> {
  const definition = registry.definition(name);
  if (!definition) throw new Error(`job definition "${name}" is not known`);
  const queue = await registry.queue(definition.queue);
  // A copy added while an old one is stuck gets an id of its own (BullMQ keeps ids unique).
  const fallbackId = `${jobId}-r${Date.now()}`;
  const requeue = async (previous: EnsurePrevious, id: string, failedReason?: string): Promise<EnsureOutcome> => {
    const reason = failedReason ? { failedReason } : {};
    if (!(await checks.mayRequeue(previous, failedReason))) return { outcome: 'refused', previous, ...reason };
    await enqueueJob(registry, name, payload, { jobId: id });
    return { outcome: 'requeued', previous, jobId: id, ...reason };
  };
  const job = await queue.getJob(jobId);
  if (!job) return requeue('missing', jobId);
  const state = await job.getState();
  if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') return { outcome: 'pending' };
  if (state === 'active') {
    const client = await registry.redis();
    const token = await client.get(`${queue.toKey(jobId)}:lock`);
    if (token && !(await checks.isDead(lockHolder(token)))) return { outcome: 'running' };
    return requeue('stalled', fallbackId);
  }
  if (state === 'completed' || state === 'failed') {
    const failedReason = state === 'failed' ? job.failedReason : undefined;
    const removed = await job.remove().then(
      () => true,
      // Moved by someone else meanwhile: a copy under another id does the work.
      () => false,
    );
    return requeue(state, removed ? jobId : fallbackId, failedReason);
  }
  // 'unknown': it vanished between the two reads.
  return requeue('missing', jobId);
}
