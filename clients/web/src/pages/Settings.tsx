/** Settings: the account's local-only switch and monthly budget, this month's usage, linked Matrix accounts, and the person's own provider keys. */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorNote, formatTime, formatUsd, PageTitle, Status, useAction, useLoad } from '../ui.tsx';
import { LinkedAccounts } from './settings-links.tsx';

interface Me {
  username: string;
  localOnly: boolean;
  monthlyBudgetUsd: number | null;
}

interface UsageReport {
  totals: { inputTokens?: number; outputTokens?: number; costUsd?: number; messages?: number } & Record<string, unknown>;
  budget: { monthlyUsd: number | null; spentUsd: number; state: string } | null;
}

interface Credential {
  id: string;
  provider: string;
  label: string;
  hint: string;
  createdAt: string;
  updatedAt: string;
}

const PROVIDERS = ['anthropic', 'openai', 'openrouter', 'zai', 'ollama'];

function Account() {
  const me = useLoad(() => api<Me>('GET', '/api/me'));
  const usage = useLoad(() => api<UsageReport>('GET', '/api/usage'));
  const save = useAction();
  const [budget, setBudget] = useState<string | null>(null);
  if (!me.data) return <ErrorNote error={me.error} />;
  const budgetText = budget ?? (me.data.monthlyBudgetUsd === null ? '' : String(me.data.monthlyBudgetUsd));
  const submit = (e: Event) => {
    e.preventDefault();
    const value = budgetText.trim() === '' ? null : Number(budgetText);
    void save.run(async () => {
      if (value !== null && !Number.isFinite(value)) throw new Error('The budget must be a number of dollars, or empty for none.');
      await api('PATCH', '/api/me', { monthlyBudgetUsd: value });
      await Promise.all([me.reload(), usage.reload()]);
      setBudget(null);
      return 'Budget saved.';
    });
  };
  const toggleLocal = (checked: boolean) =>
    void save.run(async () => {
      await api('PATCH', '/api/me', { localOnly: checked });
      await me.reload();
      return checked ? 'Local-only is on: messages stay on local models.' : 'Local-only is off.';
    });
  const b = usage.data?.budget;
  return (
    <section aria-labelledby="account-title">
      <h2 id="account-title">Account</h2>
      <label class="check">
        <input type="checkbox" checked={me.data.localOnly} onChange={(e) => toggleLocal(e.currentTarget.checked)} />
        Local only: keep every message on local models (Ollama)
      </label>
      <form onSubmit={submit} class="inline">
        <label for="budget">Monthly budget (US dollars; empty for none)</label>
        <input id="budget" inputMode="decimal" value={budgetText} onInput={(e) => setBudget(e.currentTarget.value)} />
        <button type="submit" disabled={save.busy}>
          Save budget
        </button>
      </form>
      <ErrorNote error={save.error ?? usage.error} />
      <Status text={save.done} />
      <h3>This month</h3>
      {b ? (
        <p data-testid="budget">
          Spent {formatUsd(b.spentUsd)} of {b.monthlyUsd === null ? 'no budget' : formatUsd(b.monthlyUsd)} ({b.state}).
        </p>
      ) : (
        <p>No budget applies.</p>
      )}
      {usage.data && (
        <dl class="usage">
          {Object.entries(usage.data.totals).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{typeof v === 'number' && /cost|usd/i.test(k) ? formatUsd(v) : String(v)}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}

function ProviderKeys() {
  const keys = useLoad(() => api<{ credentials: Credential[] }>('GET', '/api/providers/credentials'));
  const act = useAction();
  const [provider, setProvider] = useState('openai');
  const [label, setLabel] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [rotating, setRotating] = useState<string | null>(null);
  const [newKey, setNewKey] = useState('');
  const add = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      await api('POST', '/api/providers/credentials', { provider, apiKey, ...(label ? { label } : {}) });
      setApiKey('');
      setLabel('');
      await keys.reload();
      return `Key for ${provider} stored.`;
    });
  };
  const rotate = (e: Event, c: Credential) => {
    e.preventDefault();
    void act.run(async () => {
      await api('PATCH', `/api/providers/credentials/${c.id}`, { apiKey: newKey });
      setRotating(null);
      setNewKey('');
      await keys.reload();
      return `Key for ${c.provider} replaced.`;
    });
  };
  const remove = (c: Credential) =>
    void act.run(async () => {
      if (!confirm(`Remove your ${c.provider} key ${c.hint}?`)) return;
      await api('DELETE', `/api/providers/credentials/${c.id}`);
      await keys.reload();
      return `Key for ${c.provider} removed.`;
    });
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">Your provider keys</h2>
      <p class="hint">Your own keys are used for your messages before the system's. Only a masked hint is ever shown again.</p>
      <ErrorNote error={keys.error ?? act.error} />
      <Status text={act.done} />
      <table>
        <caption class="visually-hidden">Stored provider keys</caption>
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Label</th>
            <th scope="col">Key</th>
            <th scope="col">Changed</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(keys.data?.credentials ?? []).map((c) => (
            <tr key={c.id}>
              <td>{c.provider}</td>
              <td>{c.label || '—'}</td>
              <td>
                <code>{c.hint}</code>
              </td>
              <td>{formatTime(c.updatedAt)}</td>
              <td>
                {rotating === c.id ? (
                  <form onSubmit={(e) => rotate(e, c)} class="inline">
                    <label for={`rotate-${c.id}`}>New key for {c.provider}</label>
                    <input id={`rotate-${c.id}`} type="password" autocomplete="off" required value={newKey} onInput={(e) => setNewKey(e.currentTarget.value)} />
                    <button type="submit">Replace</button>
                    <button type="button" onClick={() => setRotating(null)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <>
                    <button type="button" class="small" onClick={() => setRotating(c.id)} aria-label={`Rotate ${c.provider} key ${c.hint}`}>
                      Rotate
                    </button>
                    <button type="button" class="small danger" onClick={() => remove(c)} aria-label={`Remove ${c.provider} key ${c.hint}`}>
                      Remove
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
          {keys.data && keys.data.credentials.length === 0 && (
            <tr>
              <td colSpan={5}>No keys of your own.</td>
            </tr>
          )}
        </tbody>
      </table>
      <form onSubmit={add} class="grid-form" aria-labelledby="add-key-title">
        <h3 id="add-key-title">Add a key</h3>
        <label for="key-provider">Provider</label>
        <select id="key-provider" value={provider} onChange={(e) => setProvider(e.currentTarget.value)}>
          {PROVIDERS.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
        <label for="key-label">Label (optional)</label>
        <input id="key-label" value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        <label for="key-secret">API key</label>
        <input id="key-secret" type="password" autocomplete="off" required value={apiKey} onInput={(e) => setApiKey(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={act.busy}>
          Store key
        </button>
      </form>
    </section>
  );
}

export function SettingsPage() {
  return (
    <main id="main" class="page" tabIndex={-1}>
      <PageTitle>Settings</PageTitle>
      <Account />
      <LinkedAccounts />
      <ProviderKeys />
    </main>
  );
}
