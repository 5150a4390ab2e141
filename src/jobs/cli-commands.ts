/**
 * `mosaic jobs …`: the admin jobs operations for operators without HTTP
 * access. Talks to Valkey directly, like the API does.
 */
import type { Command } from 'commander';
import type { CliHelpers } from '../cli.ts';
import { badRequest } from '../errors.ts';
import { JOB_STATUSES, type JobSummary, type QueueSummary } from './job-admin.ts';

type Print = (line: string) => void;

function count(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`--${name} must be a whole number, got "${value}"`);
  return n;
}

type Jsonified<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };

export function formatJob(job: Jsonified<JobSummary>): string {
  const when = job.finishedAt ?? job.processedAt ?? job.createdAt;
  const reason = job.failedReason ? `\t${job.failedReason}` : '';
  return `${job.id}\t${job.queue}\t${job.name}\t${job.state}\tattempts ${job.attemptsMade}/${job.attempts}\t${when}${reason}`;
}

export function formatQueue(q: Jsonified<QueueSummary>): string[] {
  const c = q.counts;
  const lines = [
    `${q.name}${q.paused ? ' (paused)' : ''}\twaiting ${c.waiting}\tactive ${c.active}\tcompleted ${c.completed}\tfailed ${c.failed}\tdelayed ${c.delayed}\tpaused ${c.paused}\tnext ${q.nextRunAt ?? '-'}`,
  ];
  for (const j of q.jobs) lines.push(`  ${j.name}\t${j.scheduled ? `scheduled ${j.pattern ?? `every ${j.every} ms`}${j.timezone ? ` ${j.timezone}` : ''}` : `not scheduled (${j.note})`}`);
  return lines;
}

export function registerJobCommands(program: Command, helpers: CliHelpers, print: Print = (line) => void process.stdout.write(`${line}\n`)): void {
  const jobs = program.command('jobs').description('background jobs: list, inspect, retry, pause, resume, run now');

  jobs
    .command('list')
    .description('list jobs, newest first')
    .option('--status <status>', `one of ${JOB_STATUSES.join(', ')}`)
    .option('--queue <queue>', 'only this queue (e.g. mosaic:session-gc)')
    .option('--limit <n>', 'how many', '50')
    .option('--offset <n>', 'skip this many', '0')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; queue?: string; limit: string; offset: string; json?: boolean }) => {
      const limit = count(opts.limit, 'limit');
      if (limit < 1 || limit > 200) throw badRequest('--limit must be between 1 and 200');
      const page = await helpers.admin('jobs.list', { ...(opts.status ? { status: opts.status } : {}), ...(opts.queue ? { queue: opts.queue } : {}), limit, offset: count(opts.offset, 'offset') });
      if (opts.json) return print(JSON.stringify(page, null, 2));
      if (page.jobs.length === 0) print('no jobs');
      for (const job of page.jobs) print(formatJob(job));
      print(`${page.offset + page.jobs.length} of ${page.total}`);
    });

  jobs
    .command('queues')
    .description('per-queue counts, pause state and next scheduled run')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { queues } = await helpers.admin('jobs.queues', {});
      if (opts.json) return print(JSON.stringify(queues, null, 2));
      for (const q of queues) for (const line of formatQueue(q)) print(line);
    });

  jobs
    .command('show <id>')
    .description('one job: data, attempts, failure and its agent_logs lines')
    .action(async (id: string) => {
      print(JSON.stringify(await helpers.admin('jobs.show', { id }), null, 2));
    });

  jobs
    .command('retry <id>')
    .description('retry a failed job with a fresh set of attempts')
    .action(async (id: string) => {
      print(`retrying: ${formatJob(await helpers.admin('jobs.retry', { id }))}`);
    });

  jobs
    .command('remove <id>')
    .description('delete a job that is not running')
    .action(async (id: string) => {
      await helpers.admin('jobs.remove', { id });
      print(`removed ${id}`);
    });

  jobs
    .command('pause <queue>')
    .description('stop processing a queue; jobs keep queuing')
    .action(async (queue: string) => {
      formatQueue(await helpers.admin('jobs.pause', { queue })).forEach(print);
    });

  jobs
    .command('resume <queue>')
    .description('resume a paused queue')
    .action(async (queue: string) => {
      formatQueue(await helpers.admin('jobs.resume', { queue })).forEach(print);
    });

  jobs
    .command('run <queue>')
    .description("enqueue the queue's scheduled job now")
    .option('--job <name>', 'which scheduled job, when the queue has several')
    .action(async (queue: string, opts: { job?: string }) => {
      print(`enqueued: ${formatJob(await helpers.admin('jobs.run', { queue, ...(opts.job ? { job: opts.job } : {}) }))}`);
    });
}
