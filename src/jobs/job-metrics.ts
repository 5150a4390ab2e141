/**
 * The job system's side of the operator's metrics: each worker's events
 * (emitted after a job has really moved, as job-lifecycle.ts uses them)
 * give how long a job waited to start and how its runs ended; queue depths
 * are BullMQ's own counts, read when Prometheus scrapes.
 */
import type { Job, Worker } from 'bullmq';
import type { MetricsPort, QueueDepth } from '../metrics/metrics-port.ts';
import type { QueueRegistry } from './queue-registry.ts';

export function recordJobMetrics(worker: Worker, queue: string, metrics: MetricsPort): void {
  worker.on('active', (job: Job) => {
    // The first run only: a retry's wait is its backoff, which says nothing about the queue.
    if (job.attemptsStarted > 1) return;
    const readyAt = job.timestamp + (job.delay ?? 0);
    metrics.jobStarted(queue, ((job.processedOn ?? Date.now()) - readyAt) / 1000);
  });
  const ran = (job: Job) => (Date.now() - (job.processedOn ?? Date.now())) / 1000;
  worker.on('completed', (job: Job) => metrics.jobFinished(queue, 'completed', ran(job)));
  worker.on('failed', (job: Job | undefined) => {
    if (!job) return;
    // moveToFailed sets finishedOn only when no retry follows.
    metrics.jobFinished(queue, typeof job.finishedOn === 'number' && job.finishedOn > 0 ? 'failed' : 'retried', ran(job));
  });
}

/** Every known queue's counts by state, straight from Valkey. */
export async function queueDepths(registry: QueueRegistry): Promise<QueueDepth[]> {
  return Promise.all(
    registry.queueNames().map(async (name) => {
      const queue = await registry.queue(name);
      const [counts, paused] = await Promise.all([queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'), queue.isPaused()]);
      return { queue: name, counts, paused };
    }),
  );
}
