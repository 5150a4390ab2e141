/** Admin: background job queues (pause, resume, run now), jobs by state, and one job with its attempts and log lines (retry). */
import { useState } from 'preact/hooks';
import { api, query } from '../api.ts';
import { ErrorNote, formatTime, PageTitle, Status, useAction, useLoad } from '../ui.tsx';

interface Queue {
  name: string;
  paused: boolean;
  counts: Record<string, number>;
  nextRunAt: string | null;
  jobs: Array<{ name: string; description: string; scheduled: boolean; pattern: string | null; every: number | null; nextRunAt: string | null }>;
}

interface JobSummary {
  id: string;
  queue: string;
  name: string;
  state: string;
  attemptsMade: number;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
  failedReason: string | null;
}

interface JobDetail extends JobSummary {
  data: unknown;
  returnValue: unknown;
  stacktrace: string[];
  processedAt: string | null;
  logs: Array<{ id: number; level: string; event: string; message: string; attempt: number | null; error: string | null; createdAt: string }>;
}

const STATES = ['failed', 'active', 'waiting', 'delayed', 'completed', 'paused'];
const COUNTS = ['waiting', 'active', 'delayed', 'failed', 'completed'];

function Queues() {
  const queues = useLoad(() => api<{ queues: Queue[] }>('GET', '/api/admin/jobs/queues'));
  const act = useAction();
  const call = (q: Queue, what: 'pause' | 'resume' | 'run') =>
    void act.run(async () => {
      await api('POST', `/api/admin/jobs/queues/${encodeURIComponent(q.name)}/${what}`, what === 'run' ? {} : undefined);
      await queues.reload();
      return what === 'run' ? `${q.name}: its job was enqueued.` : `${q.name} ${what === 'pause' ? 'paused' : 'resumed'}.`;
    });
  return (
    <section aria-labelledby="queues-title">
      <h2 id="queues-title">Queues</h2>
      <ErrorNote error={queues.error ?? act.error} />
      <Status text={act.done} />
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">Queues and their job counts</caption>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              {COUNTS.map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
              <th scope="col">Next run</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(queues.data?.queues ?? []).map((q) => (
              <tr key={q.name} data-queue={q.name}>
                <th scope="row">
                  {q.name}
                  {q.paused && <span class="badge">paused</span>}
                </th>
                {COUNTS.map((c) => (
                  <td key={c}>{q.counts[c] ?? 0}</td>
                ))}
                <td>{formatTime(q.nextRunAt)}</td>
                <td class="actions">
                  <button type="button" class="small" onClick={() => call(q, q.paused ? 'resume' : 'pause')} aria-label={`${q.paused ? 'Resume' : 'Pause'} ${q.name}`}>
                    {q.paused ? 'Resume' : 'Pause'}
                  </button>
                  {q.jobs.some((j) => j.scheduled) && (
                    <button type="button" class="small" onClick={() => call(q, 'run')} aria-label={`Run now: ${q.name}`}>
                      Run now
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function JobsPage() {
  const [state, setState] = useState('failed');
  const jobs = useLoad(() => api<{ jobs: JobSummary[]; total: number }>('GET', `/api/admin/jobs${query({ status: state, limit: 50 })}`), [state]);
  return (
    <main id="main" class="page" tabIndex={-1}>
      <PageTitle>Jobs</PageTitle>
      <Queues />
      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Jobs by state</h2>
        <label for="job-state">State</label>
        <select id="job-state" value={state} onChange={(e) => setState(e.currentTarget.value)}>
          {STATES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <button type="button" class="small" onClick={() => void jobs.reload()}>
          Refresh
        </button>
        <ErrorNote error={jobs.error} />
        <p>{jobs.data ? `${jobs.data.total} ${state}` : 'Loading…'}</p>
        <ul class="jobs">
          {(jobs.data?.jobs ?? []).map((j) => (
            <li key={j.id}>
              <a href={`/admin/jobs/${j.id}`}>
                {j.queue} · {j.name}
              </a>{' '}
              <span class={`badge ${j.state}`}>{j.state}</span> attempts {j.attemptsMade}/{j.attempts}, created {formatTime(j.createdAt)}
              {j.failedReason && <p class="error-text">{j.failedReason}</p>}
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

export function JobPage({ id }: { id: string }) {
  const job = useLoad(() => api<JobDetail>('GET', `/api/admin/jobs/${encodeURIComponent(id)}`), [id]);
  const act = useAction();
  const j = job.data;
  const retry = () =>
    void act.run(async () => {
      await api('POST', `/api/admin/jobs/${encodeURIComponent(id)}/retry`);
      await job.reload();
      return 'Retried: the job runs again with a fresh set of attempts.';
    });
  return (
    <main id="main" class="page" tabIndex={-1}>
      <p>
        <a href="/admin/jobs">← Jobs</a>
      </p>
      <PageTitle>{j ? `${j.queue} · ${j.name}` : 'Job'}</PageTitle>
      <ErrorNote error={job.error ?? act.error} />
      <Status text={act.done} />
      {j && (
        <>
          <dl class="job">
            <dt>State</dt>
            <dd data-testid="job-state">{j.state}</dd>
            <dt>Attempts</dt>
            <dd>
              {j.attemptsMade} of {j.attempts}
            </dd>
            <dt>Created</dt>
            <dd>{formatTime(j.createdAt)}</dd>
            <dt>Finished</dt>
            <dd>{formatTime(j.finishedAt)}</dd>
            {j.failedReason && (
              <>
                <dt>Failure</dt>
                <dd class="error-text">{j.failedReason}</dd>
              </>
            )}
          </dl>
          <div class="row">
            <button type="button" class="primary" onClick={retry} disabled={j.state !== 'failed' || act.busy}>
              Retry
            </button>
            <button type="button" onClick={() => void job.reload()}>
              Refresh
            </button>
          </div>
          <h2>Log</h2>
          <ol class="log">
            {j.logs.map((l) => (
              <li key={l.id} class={l.level}>
                <time dateTime={l.createdAt}>{formatTime(l.createdAt)}</time> <strong>{l.event}</strong>
                {l.attempt !== null && <> (attempt {l.attempt})</>}: {l.message}
                {l.error && <span class="error-text"> — {l.error}</span>}
              </li>
            ))}
            {j.logs.length === 0 && <li>No log lines.</li>}
          </ol>
          <details>
            <summary>Data</summary>
            <pre>{JSON.stringify(j.data, null, 2)}</pre>
          </details>
          {j.stacktrace.length > 0 && (
            <details>
              <summary>Stack traces</summary>
              <pre>{j.stacktrace.join('\n\n')}</pre>
            </details>
          )}
        </>
      )}
    </main>
  );
}
