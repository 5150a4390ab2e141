/** Admin: every account; create one (its first token shown once), disable or enable one. */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { copyText } from '../pages/chat-parts.tsx';
import { ErrorNote, formatTime, PageTitle, Status, useAction, useLoad } from '../ui.tsx';

interface AdminUser {
  id: string;
  username: string;
  displayName: string | null;
  role: 'admin' | 'member';
  localOnly: boolean;
  monthlyBudgetUsd: number | null;
  createdAt: string;
  disabledAt: string | null;
}

function OneTimeToken({ username, token, onDone }: { username: string; token: string; onDone(): void }) {
  const [copied, setCopied] = useState(false);
  return (
    <section class="one-time" role="alert" aria-labelledby="token-title">
      <h2 id="token-title">Token for {username}</h2>
      <p>This token is shown once. Give it to {username} now; it cannot be shown again (a new one can be issued).</p>
      <p>
        <code class="token" data-testid="one-time-token">
          {token}
        </code>
      </p>
      <button type="button" onClick={() => void copyText(token).then(setCopied)}>
        {copied ? 'Copied' : 'Copy token'}
      </button>
      <button type="button" onClick={onDone}>
        Done, hide it
      </button>
    </section>
  );
}

export function UsersPage() {
  const users = useLoad(() => api<{ users: AdminUser[] }>('GET', '/api/admin/users'));
  const act = useAction();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const [issued, setIssued] = useState<{ username: string; token: string } | null>(null);
  const create = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const res = await api<{ user: AdminUser; token: string }>('POST', '/api/admin/users', { username, admin, ...(password ? { password } : {}) });
      setIssued({ username: res.user.username, token: res.token });
      setUsername('');
      setPassword('');
      setAdmin(false);
      await users.reload();
      return `Account ${res.user.username} created.`;
    });
  };
  const toggle = (u: AdminUser) =>
    void act.run(async () => {
      await api('POST', `/api/admin/users/${encodeURIComponent(u.username)}/${u.disabledAt ? 'enable' : 'disable'}`);
      await users.reload();
      return `${u.username} ${u.disabledAt ? 'enabled' : 'disabled'}.`;
    });
  return (
    <main id="main" class="page" tabIndex={-1}>
      <PageTitle>Users</PageTitle>
      {issued && <OneTimeToken {...issued} onDone={() => setIssued(null)} />}
      <ErrorNote error={users.error ?? act.error} />
      <Status text={act.done} />
      <table>
        <caption class="visually-hidden">Accounts</caption>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(users.data?.users ?? []).map((u) => (
            <tr key={u.id} data-user={u.username}>
              <td>{u.username}</td>
              <td>{u.role}</td>
              <td>{u.disabledAt ? `disabled ${formatTime(u.disabledAt)}` : 'active'}</td>
              <td>{formatTime(u.createdAt)}</td>
              <td>
                <button type="button" class={`small${u.disabledAt ? '' : ' danger'}`} onClick={() => toggle(u)} aria-label={`${u.disabledAt ? 'Enable' : 'Disable'} ${u.username}`}>
                  {u.disabledAt ? 'Enable' : 'Disable'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={create} class="grid-form" aria-labelledby="create-user-title">
        <h2 id="create-user-title">Create an account</h2>
        <label for="new-username">Username</label>
        <input id="new-username" required autocomplete="off" value={username} onInput={(e) => setUsername(e.currentTarget.value)} aria-describedby="new-username-hint" />
        <p id="new-username-hint" class="hint">
          2–32 characters: a–z, 0–9, “.”, “_” or “-”.
        </p>
        <label for="new-password">Password (optional; without one the account signs in with tokens only)</label>
        <input id="new-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} />
          Admin
        </label>
        <button type="submit" class="primary" disabled={act.busy}>
          Create account
        </button>
      </form>
    </main>
  );
}
