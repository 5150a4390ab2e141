/**
 * What admins see and steer: job lists, details, retry, delete, and per-queue
 * counts, pause, resume and run-now. Shared by the HTTP API and the CLI.
 */
import type { Job, JobType, Queue } from 'bullmq';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { AgentLogLine } from '../logs/agent-log-store.ts';
import { describeSchedule } from './job-definition.ts';
import { decodeJobRef, encodeJobRef } from './job-ref.ts';
import type { QueueRegistry } from './queue-registry.ts';

export const JOB_STATUSES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'paused', 'prioritized', 'waiting-children'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobSummary {
  /** base64url of `<queue>\0<job id>`: use it in /api/admin/jobs/:id. */
  id: string;
  queue: string;
  jobId: string;
  name: string;
  state: string;
  attemptsMade: number;
  attempts: number;
  createdAt: string;
  processedAt: string | null;
  finishedAt: string | null;
  /** When a delayed job becomes runnable (a scheduled run or a retry). */
  runAt: string | null;
  failedReason: string | null;
  schedulerId: string | null;
}

export interface JobDetail extends JobSummary {
  data: unknown;
  /** What the job reported of its progress while it ran (null: nothing). */
  progress: unknown;
  returnValue: unknown;
  stacktrace: string[];
  runs: number;
  logs: AgentLogLine[];
}

export interface ScheduledJobInfo {
  name: string;
  description: string;
  configured: string | null;
  configuredBy: string | null;
  /** Whether Valkey holds a schedule for it. */
  scheduled: boolean;
  pattern: string | null;
  every: number | null;
  timezone: string | null;
  nextRunAt: string | null;
  /** Why it is not scheduled, when this process knows. */
  note: string | null;
}

export interface QueueSummary {
  name: string;
  paused: boolean;
  counts: { waiting: number; active: number; completed: number; failed: number; delayed: number; paused: number; prioritized: number };
  nextRunAt: string | null;
  jobs: ScheduledJobInfo[];
}

export interface JobLogReader {
  listForJob(queue: string, jobId: string): Promise<AgentLogLine[]>;
}

export interface ListJobsQuery {
  status?: string | undefined;
  queue?: string | undefined;
  limit: number;
  offset: number;
}

const iso = (ms: number | undefined | null) => (typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString() : null);

export class JobAdmin {
  constructor(
    private readonly registry: QueueRegistry,
    private readonly logs: JobLogReader | null,
    /** Why some defined jobs are not scheduled (known only to the process running the workers). */
    private readonly notes: () => ReadonlyMap<string, string> = () => new Map(),
  ) {}

  queueNames(): string[] {
    return this.registry.queueNames();
  }

  async listJobs(query: ListJobsQuery): Promise<{ jobs: JobSummary[]; total: number; limit: number; offset: number }> {
    // Without a filter, 'paused' is left out: those jobs are already listed as waiting.
    const statuses: JobStatus[] = query.status === undefined ? JOB_STATUSES.filter((s) => s !== 'paused') : [requireStatus(query.status)];
    const queues = query.queue === undefined ? this.registry.queueNames() : [this.registry.requireQueueName(query.queue, 'filter')];
    const window = query.offset + query.limit;
    const found: Array<{ queue: string; job: Job; state: string }> = [];
    let total = 0;
    for (const name of queues) {
      const queue = await this.registry.queue(name);
      const paused = await queue.isPaused();
      for (const status of statuses) {
        // BullMQ keeps a paused queue's jobs in its waiting lists.
        const types: JobType[] = status === 'paused' ? (paused ? ['waiting', 'prioritized'] : []) : [status];
        for (const type of types) {
          const count = (await queue.getJobCounts(type))[type] ?? 0;
          total += count;
          if (count === 0) continue;
          // Each list's newest `window` jobs are enough to fill the page after merging.
          const jobs = await queue.getJobs([type], 0, window - 1, false);
          for (const job of jobs) if (job) found.push({ queue: name, job, state: status });
        }
      }
    }
    found.sort((a, b) => b.job.timestamp - a.job.timestamp || String(b.job.id).localeCompare(String(a.job.id), undefined, { numeric: true }));
    const page = found.slice(query.offset, window).map(({ queue, job, state }) => summarize(queue, job, state));
    return { jobs: page, total, limit: query.limit, offset: query.offset };
  }

  async getJob(ref: string): Promise<JobDetail> {
    const found = await this.findJob(ref);
    const { queue } = found;
    const state = await found.job.getState();
    // The job may have finished between reading it and reading its state:
    // read it again so its result and failure match the state shown.
    const job = (state === 'completed' || state === 'failed' ? await (await this.registry.queue(queue)).getJob(found.job.id!) : null) ?? found.job;
    const logs = this.logs ? await this.logs.listForJob(queue, job.id!) : [];
    return {
      ...summarize(queue, job, state),
      data: job.data,
      progress: job.progress === 0 ? null : job.progress,
      returnValue: job.returnvalue ?? null,
      stacktrace: job.stacktrace ?? [],
      runs: job.attemptsStarted ?? 0,
      logs,
    };
  }

  /** Only failed jobs; it gets a fresh set of attempts. */
  async retryJob(ref: string): Promise<JobSummary> {
    const { queue, job } = await this.findJob(ref);
    const state = await job.getState();
    if (state !== 'failed') throw conflict(`only failed jobs can be retried; this job is ${state}`, { state });
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    const fresh = await (await this.registry.queue(queue)).getJob(job.id!);
    return summarize(queue, fresh ?? job, fresh ? await fresh.getState() : 'waiting');
  }

  async removeJob(ref: string): Promise<void> {
    const { job } = await this.findJob(ref);
    const state = await job.getState();
    if (state === 'active') throw conflict('this job is running; it can be removed once it has finished or failed', { state });
    try {
      await job.remove();
    } catch (err) {
      throw conflict(`the job could not be removed: ${(err as Error).message}`, { state: await job.getState() });
    }
  }

  async queues(): Promise<QueueSummary[]> {
    const notes = this.notes();
    const summaries: QueueSummary[] = [];
    for (const name of this.registry.queueNames()) {
      const queue = await this.registry.queue(name);
      const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
      const paused = await queue.isPaused();
      const schedulers = await queue.getJobSchedulers(0, -1, true);
      const jobs: ScheduledJobInfo[] = this.registry
        .definitionsOn(name)
        .filter((d) => d.schedule)
        .map((d) => {
          const s = schedulers.find((x) => (x.id ?? x.key) === d.name);
          return {
            name: d.name,
            description: d.description,
            configured: describeSchedule(d.schedule),
            configuredBy: d.scheduleSource ?? null,
            scheduled: Boolean(s),
            pattern: s?.pattern ?? null,
            every: s?.every == null ? null : Number(s.every),
            timezone: s?.tz ?? null,
            nextRunAt: iso(s?.next),
            note: s ? null : (notes.get(d.name) ?? 'Valkey holds no schedule for it: no running Mosaic has a handler for it'),
          };
        });
      const next = jobs.map((j) => j.nextRunAt).filter((x): x is string => x !== null).sort()[0] ?? null;
      summaries.push({
        name,
        paused,
        counts: {
          waiting: counts.waiting ?? 0,
          active: counts.active ?? 0,
          completed: counts.completed ?? 0,
          failed: counts.failed ?? 0,
          delayed: counts.delayed ?? 0,
          // Jobs held by the pause; BullMQ also counts them as waiting/prioritized.
          paused: paused ? (counts.waiting ?? 0) + (counts.prioritized ?? 0) : 0,
          prioritized: counts.prioritized ?? 0,
        },
        nextRunAt: next,
        jobs,
      });
    }
    return summaries;
  }

  async pause(name: string): Promise<QueueSummary> {
    await (await this.queueByName(name)).pause();
    return this.queueSummary(name);
  }

  async resume(name: string): Promise<QueueSummary> {
    await (await this.queueByName(name)).resume();
    return this.queueSummary(name);
  }

  /** Enqueues a scheduled job of this queue now, outside its schedule. */
  async runNow(name: string, jobName?: string): Promise<JobSummary> {
    const queue = await this.queueByName(name);
    const schedulers = await queue.getJobSchedulers(0, -1, true);
    const names = schedulers.map((s) => s.id ?? s.key);
    let chosen: string | undefined;
    if (jobName !== undefined) {
      if (!names.includes(jobName)) {
        throw names.length === 0
          ? conflict(`${name} has no scheduled job to run (see GET /api/admin/jobs/queues for why)`)
          : badRequest(`"${jobName}" is not a scheduled job of ${name}; choose one of: ${names.join(', ')}`, { allowed: names });
      }
      chosen = jobName;
    } else if (names.length === 1) {
      chosen = names[0];
    } else if (names.length === 0) {
      throw conflict(`${name} has no scheduled job to run (see GET /api/admin/jobs/queues for why)`);
    } else {
      throw badRequest(`${name} has several scheduled jobs; name one: ${names.join(', ')}`, { allowed: names });
    }
    const scheduler = schedulers.find((s) => (s.id ?? s.key) === chosen)!;
    const definition = this.registry.definition(chosen!);
    const jobNameToRun = definition?.name ?? scheduler.name;
    const data = scheduler.template?.data ?? definition?.scheduledPayload ?? {};
    const opts = definition ? this.registry.jobOptions(definition) : {};
    const job = await queue.add(jobNameToRun, data, opts);
    return summarize(name, job, await job.getState());
  }

  private async queueSummary(name: string): Promise<QueueSummary> {
    return (await this.queues()).find((q) => q.name === name)!;
  }

  private async queueByName(name: string): Promise<Queue> {
    return this.registry.queue(this.registry.requireQueueName(name));
  }

  private async findJob(ref: string): Promise<{ queue: string; job: Job }> {
    const { queue, jobId } = decodeJobRef(ref);
    if (!this.registry.queueNames().includes(queue)) throw notFound(`job (queue ${queue} is not known)`);
    const job = await (await this.registry.queue(queue)).getJob(jobId);
    if (!job) throw notFound(`job ${jobId} on ${queue}`);
    return { queue, job };
  }
}

function requireStatus(status: string): JobStatus {
  if ((JOB_STATUSES as readonly string[]).includes(status)) return status as JobStatus;
  throw badRequest(`unknown status "${status}"; statuses: ${JOB_STATUSES.join(', ')}`, { allowed: [...JOB_STATUSES] });
}

function summarize(queue: string, job: Job, state: string): JobSummary {
  return {
    id: encodeJobRef({ queue, jobId: job.id! }),
    queue,
    jobId: job.id!,
    name: job.name,
    state,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    createdAt: new Date(job.timestamp).toISOString(),
    processedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    runAt: job.delay > 0 ? iso(job.timestamp + job.delay) : null,
    failedReason: job.failedReason || null,
    schedulerId: job.repeatJobKey ?? null,
  };
}
