/** Admin: each provider's health as every replica sees it. */
import { api } from '../api.ts';
import { ErrorNote, formatTime, PageTitle, useLoad } from '../ui.tsx';

interface Health {
  provider: string;
  status: string;
  usable: boolean;
  lastCheckedAt?: string | null;
  lastError?: string | null;
  latencyMs?: number | null;
  consecutiveFailures?: number;
  cooldownUntil?: string | null;
}

export function ProvidersPage() {
  const health = useLoad(() => api<{ providers: Health[] }>('GET', '/api/providers/health'));
  return (
    <main id="main" class="page" tabIndex={-1}>
      <PageTitle>Providers</PageTitle>
      <button type="button" class="small" onClick={() => void health.reload()}>
        Refresh
      </button>
      <ErrorNote error={health.error} />
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">Provider health</caption>
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Status</th>
              <th scope="col">Usable</th>
              <th scope="col">Latency</th>
              <th scope="col">Failures</th>
              <th scope="col">Checked</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {(health.data?.providers ?? []).map((p) => (
              <tr key={p.provider} data-provider={p.provider}>
                <th scope="row">{p.provider}</th>
                <td>
                  <span class={`badge ${p.status}`}>{p.status}</span>
                </td>
                <td>{p.usable ? 'yes' : 'no'}</td>
                <td>{typeof p.latencyMs === 'number' ? `${p.latencyMs} ms` : '—'}</td>
                <td>{p.consecutiveFailures ?? 0}</td>
                <td>{formatTime(p.lastCheckedAt)}</td>
                <td>{p.lastError ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}
