/**
 * Writes job lifecycle lines (started, completed, retried, failed, stalled)
 * to agent_logs from the worker's events, which BullMQ emits after the job
 * has really moved. A log write that fails is reported to the process log
 * and never touches the job.
 */
import type { Job, Worker } from 'bullmq';
import type { Logger } from '../logging.ts';
import { errorMessage } from '../errors.ts';
import type { AgentLogEntry } from '../logs/agent-log-store.ts';
import { SLOW_JOB_MS } from './job-definition.ts';

export interface AgentLogSink {
  append(entry: AgentLogEntry): Promise<void>;
}

export const JOB_LOG_SOURCE = 'jobs';

export class JobLifecycleLog {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: AgentLogSink | null,
    private readonly logger: Logger,
  ) {}

  /** `onlyProblems(jobName)`: true for jobs whose definition logs only retries, failures, stalls and slow runs. */
  attach(worker: Worker, queue: string, onlyProblems: (jobName: string) => boolean = () => false): void {
    worker.on('active', (job) => {
      if (onlyProblems(job.name)) return;
      this.write(queue, job, 'started', 'info', { attempt: job.attemptsMade + 1, data: { runs: job.attemptsStarted } });
    });
    worker.on('completed', (job) => {
      const durationMs = job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : null;
      if (onlyProblems(job.name) && (durationMs === null || durationMs < SLOW_JOB_MS)) return;
      // moveToCompleted and moveToFailed have already counted this attempt.
      this.write(queue, job, 'completed', 'info', { attempt: job.attemptsMade, durationMs });
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      // moveToFailed sets finishedOn only when no retry follows.
      const final = typeof job.finishedOn === 'number' && job.finishedOn > 0;
      this.write(queue, job, final ? 'failed' : 'retried', final ? 'error' : 'warn', {
        attempt: job.attemptsMade,
        error: err,
        data: final ? { attemptsMade: job.attemptsMade } : { retryInMs: job.delay, attemptsMade: job.attemptsMade },
      });
    });
    worker.on('stalled', (jobId) => {
      this.record({ source: JOB_LOG_SOURCE, event: 'stalled', level: 'warn', queue, jobId, message: `job ${jobId} on ${queue} lost its worker and was put back in the queue` });
    });
  }

  /** Waits for lines still being written (at shutdown). */
  async flush(): Promise<void> {
    await this.tail;
  }

  /** Lines are written one after another, so they land in the order the events happened. */
  record(entry: AgentLogEntry): void {
    const sink = this.sink;
    if (!sink) return;
    this.tail = this.tail.then(() =>
      sink.append(entry).catch((err: unknown) => {
        this.logger.warn({ err, event: 'jobs.log_write_failed', queue: entry.queue, jobId: entry.jobId, lifecycle: entry.event }, 'could not write a job lifecycle line to agent_logs');
      }),
    );
  }

  private write(
    queue: string,
    job: Job,
    event: string,
    level: AgentLogEntry['level'],
    extra: { attempt: number; error?: unknown; durationMs?: number | null; data?: Record<string, unknown> },
  ): void {
    const error = extra.error === undefined ? null : errorMessage(extra.error);
    this.record({
      source: JOB_LOG_SOURCE,
      event,
      level,
      queue,
      jobId: job.id ?? null,
      attempt: extra.attempt,
      error,
      message: `${job.name} ${event}${error ? `: ${error}` : ''}`,
      data: { name: job.name, ...(extra.durationMs != null ? { durationMs: extra.durationMs } : {}), ...(extra.data ?? {}) },
    });
  }
}

