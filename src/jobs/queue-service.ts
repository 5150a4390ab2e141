/**
 * Runs jobs: keeps the schedules in Valkey in step with the definitions,
 * starts one worker per queue this process has handlers for, enqueues, and
 * shuts down without losing work.
 */
import { UnrecoverableError, Worker, type Job, type MinimalJob } from 'bullmq';
import type { Logger } from '../logging.ts';
import { errorMessage, notFound } from '../errors.ts';
import { OutageLog } from '../outage-log.ts';
import { backoffDelay, CAPPED_BACKOFF } from './backoff.ts';
import { describeSchedule, PermanentJobError, type JobDefinition, type JobHandler } from './job-definition.ts';
import { JobLifecycleLog, JOB_LOG_SOURCE, type AgentLogSink } from './job-lifecycle.ts';
import type { QueueRegistry } from './queue-registry.ts';
import { bullQueueName } from './queue-names.ts';
import { encodeJobRef } from './job-ref.ts';
import type { MetricsPort } from '../metrics/metrics-port.ts';
import { recordJobMetrics } from './job-metrics.ts';

export interface WorkerTuning {
  /** A job whose worker stops renewing its lock is recovered after this. */
  lockDurationMs: number;
  /** How often workers look for such jobs. */
  stalledIntervalMs: number;
  /** At shutdown, how long active jobs may run before connections close. */
  shutdownTimeoutMs: number;
  concurrency?: number;
}

export interface JobQueueServiceOptions {
  registry: QueueRegistry;
  logger: Logger;
  logSink: AgentLogSink | null;
  tuning: WorkerTuning;
  /** Time zone of cron schedules that do not name their own. */
  timezone: string;
  /** Where each worker's waits and runs are recorded. */
  metrics?: MetricsPort;
  /** Told each worker's id (its jobs' lock tokens start with it), so others can tell when this process died. */
  onWorker?: (workerId: string) => Promise<void>;
}

export type ScheduleOutcome = 'created' | 'replaced' | 'unchanged' | 'removed' | 'not-scheduled';

export interface ScheduleReport {
  name: string;
  queue: string;
  outcome: ScheduleOutcome;
  schedule: string | null;
  reason?: string;
}

export interface EnqueuedJob {
  id: string;
  queue: string;
  jobId: string;
  name: string;
}

/** Adds a job of a defined kind; also what processes without workers (the CLI) use. */
export async function enqueueJob<P>(registry: QueueRegistry, name: string, payload: P, options: { jobId?: string; delayMs?: number } = {}): Promise<EnqueuedJob> {
  const definition = registry.definition(name);
  if (!definition) throw notFound(`job definition "${name}"`);
  const data = definition.payload.parse(payload);
  const queue = await registry.queue(definition.queue);
  const job = await queue.add(name, data, { ...registry.jobOptions(definition), ...(options.jobId ? { jobId: options.jobId } : {}), ...(options.delayMs ? { delay: options.delayMs } : {}) });
  const jobId = job.id!;
  return { id: encodeJobRef({ queue: definition.queue, jobId }), queue: definition.queue, jobId, name };
}

export class JobQueueService {
  readonly registry: QueueRegistry;
  private readonly logger: Logger;
  private readonly lifecycle: JobLifecycleLog;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly workers: Array<{ queue: string; worker: Worker }> = [];
  private readonly shutdown = new AbortController();
  private readonly notScheduled = new Map<string, string>();
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: JobQueueServiceOptions) {
    this.registry = options.registry;
    this.logger = options.logger;
    this.lifecycle = new JobLifecycleLog(options.logSink, options.logger);
  }

  /** Registers the code that runs a defined job. */
  handle<P>(name: string, handler: JobHandler<P>): void {
    if (!this.registry.definition(name)) throw notFound(`job definition "${name}"`);
    this.handlers.set(name, handler as JobHandler);
  }

  hasHandler(name: string): boolean {
    return this.handlers.has(name);
  }

  /** Why a defined job has no schedule in this process (no handler), by job name. */
  unscheduledReasons(): ReadonlyMap<string, string> {
    return this.notScheduled;
  }

  /**
   * Makes Valkey's schedules match the definitions. Idempotent: an unchanged
   * schedule is left alone, so restarts and replicas never double it; a
   * changed one is upserted under the same id, which replaces it; a job
   * without a handler here has its schedule removed, never run as a no-op.
   */
  async syncSchedules(): Promise<ScheduleReport[]> {
    const reports: ScheduleReport[] = [];
    for (const definition of this.registry.allDefinitions()) {
      if (!definition.schedule) continue;
      reports.push(await this.syncSchedule(definition));
    }
    return reports;
  }

  private async syncSchedule(definition: JobDefinition): Promise<ScheduleReport> {
    const queue = await this.registry.queue(definition.queue);
    const base = { name: definition.name, queue: definition.queue, schedule: describeSchedule(definition.schedule) };
    const existing = await queue.getJobScheduler(definition.name);
    if (!this.handlers.has(definition.name)) {
      const reason = 'no handler was supplied to the job system for this job, so it is not scheduled';
      this.notScheduled.set(definition.name, reason);
      if (existing) await queue.removeJobScheduler(definition.name);
      // Not a fault: a job whose part is not built yet (or not in this process). Admins see the reason in the queue list.
      this.logger.debug({ event: 'jobs.not_scheduled', job: definition.name, queue: definition.queue }, `${definition.name}: ${reason}`);
      return { ...base, outcome: existing ? 'removed' : 'not-scheduled', reason };
    }
    this.notScheduled.delete(definition.name);
    const schedule = definition.schedule!;
    const repeat = 'cron' in schedule ? { pattern: schedule.cron, tz: schedule.timezone ?? this.options.timezone } : { every: schedule.everyMs };
    const data = definition.scheduledPayload ?? {};
    const opts = this.registry.jobOptions(definition);
    if (existing && sameSchedule(existing, repeat, data, opts as Record<string, unknown>)) return { ...base, outcome: 'unchanged' };
    await queue.upsertJobScheduler(definition.name, repeat, { name: definition.name, data, opts });
    this.logger.info({ event: 'jobs.scheduled', job: definition.name, queue: definition.queue, schedule: base.schedule }, `${definition.name} scheduled (${base.schedule})`);
    return { ...base, outcome: existing ? 'replaced' : 'created' };
  }

  /** One worker per queue that has a handler in this process. */
  async startWorkers(): Promise<void> {
    const connection = await this.registry.redis();
    const queues = new Set(this.registry.allDefinitions().filter((d) => this.handlers.has(d.name)).map((d) => d.queue));
    // A Valkey outage makes every worker report each reconnect: one line for all of them per outage, ended when the last is back.
    const outage = new OutageLog(this.logger, { what: 'the job workers (Valkey)', event: 'jobs.worker' });
    const down = new Set<string>();
    for (const queue of [...queues].sort()) {
      if (this.workers.some((w) => w.queue === queue)) continue;
      const worker = new Worker(bullQueueName(queue), (job: Job) => this.process(queue, job), {
        connection,
        prefix: this.registry.prefix,
        concurrency: Math.max(
          this.options.tuning.concurrency ?? 1,
          ...this.registry.allDefinitions().filter((d) => d.queue === queue).map((d) => d.concurrency ?? 1),
        ),
        lockDuration: this.options.tuning.lockDurationMs,
        stalledInterval: this.options.tuning.stalledIntervalMs,
        maxStalledCount: 1,
        settings: { backoffStrategy: (failures: number, type?: string, _err?: Error, job?: MinimalJob) => this.backoff(failures, type, job) },
      });
      worker.on('error', (err) => {
        down.add(queue);
        outage.failed(err, { queue });
      });
      worker.on('ready', () => {
        down.delete(queue);
        if (down.size === 0) outage.succeeded();
      });
      this.lifecycle.attach(worker, queue, (name) => this.registry.definition(name)?.lifecycleLog === 'problems');
      if (this.options.metrics) recordJobMetrics(worker, queue, this.options.metrics);
      this.workers.push({ queue, worker });
      await this.options.onWorker?.(worker.id);
    }
    await Promise.all(this.workers.map((w) => w.worker.waitUntilReady()));
  }

  enqueue<P>(name: string, payload: P, options: { jobId?: string; delayMs?: number } = {}): Promise<EnqueuedJob> {
    return enqueueJob(this.registry, name, payload, options);
  }

  /**
   * Stops taking jobs, lets active ones finish for up to shutdownTimeoutMs,
   * then closes. A job still running then is abandoned with its lock; once
   * the lock expires, the next process's stalled check puts it back.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.tuning.shutdownTimeoutMs);
    });
    const drained = Promise.all(this.workers.map((w) => w.worker.pause())).then(() => false as const);
    const cutOff = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (cutOff) {
      this.logger.warn({ event: 'jobs.shutdown_timeout', timeoutMs: this.options.tuning.shutdownTimeoutMs }, 'jobs still running at the shutdown timeout; they will be recovered by the next process');
      this.shutdown.abort(new Error('the process is shutting down'));
    }
    await Promise.allSettled(this.workers.map((w) => w.worker.close(cutOff)));
    await this.lifecycle.flush();
    await this.registry.close();
  }

  private async process(queue: string, job: Job): Promise<unknown> {
    const definition = this.registry.definition(job.name);
    const handler = this.handlers.get(job.name);
    if (!definition || !handler) throw new UnrecoverableError(`no handler for job "${job.name}" on ${queue} in this process`);
    const parsed = definition.payload.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`invalid payload for ${job.name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    try {
      const progress = async (data: Record<string, unknown>) => {
        await job.updateProgress(data).catch((err: unknown) => this.logger.debug({ event: 'jobs.progress_failed', queue, jobId: job.id, err: errorMessage(err) }, 'could not record job progress'));
      };
      const result = await handler(parsed.data, { queue, jobId: job.id!, name: job.name, attempt: job.attemptsMade + 1, signal: this.shutdown.signal, progress });
      return result ?? null;
    } catch (err) {
      if (err instanceof PermanentJobError) throw new UnrecoverableError(err.message);
      throw err;
    }
  }

  private backoff(failures: number, type: string | undefined, job: MinimalJob | undefined): number {
    const definition = job ? this.registry.definition(job.name) : undefined;
    const policy = this.registry.backoffOf(definition);
    if (type !== CAPPED_BACKOFF) {
      this.logger.warn({ event: 'jobs.unknown_backoff', type, source: JOB_LOG_SOURCE }, `unknown backoff type "${type}"; using Mosaic's capped exponential backoff`);
    }
    const base = typeof job?.opts.backoff === 'object' && job.opts.backoff.delay ? job.opts.backoff.delay : policy.baseMs;
    return backoffDelay(failures, { baseMs: base, maxMs: policy.maxMs });
  }
}

function sameSchedule(
  existing: { pattern?: string | null; every?: number | string | null; tz?: string | null; template?: { data?: unknown; opts?: Record<string, unknown> } },
  repeat: { pattern?: string; tz?: string; every?: number },
  data: unknown,
  opts: Record<string, unknown>,
): boolean {
  const every = existing.every == null ? undefined : Number(existing.every);
  if ((existing.pattern ?? undefined) !== repeat.pattern || every !== repeat.every) return false;
  if (repeat.pattern && (existing.tz ?? undefined) !== repeat.tz) return false;
  if (canonical(existing.template?.data ?? {}) !== canonical(data)) return false;
  const stored = existing.template?.opts ?? {};
  return ['attempts', 'backoff', 'removeOnComplete', 'removeOnFail'].every((k) => canonical(stored[k]) === canonical(opts[k]));
}

/** JSON with sorted keys: Valkey hands back objects in another key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}
