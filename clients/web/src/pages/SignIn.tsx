/** The sign-in form: a username and password for a session cookie. */
import { useState } from 'preact/hooks';
import { describeError } from '../api.ts';
import { signedOutNotice, signIn } from '../session.ts';

export function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [withToken, setWithToken] = useState(false);
  const [token, setToken] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(withToken ? { token: token.trim() } : { username, password });
    } catch (err) {
      setError(describeError(err));
      setPassword('');
      setToken('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in" id="main">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Mosaic</h1>
        {signedOutNotice.value && !error && <p class="notice" role="status">{signedOutNotice.value}</p>}
        {withToken ? (
          <>
            <label for="token">Personal access token</label>
            <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} autoFocus />
          </>
        ) : (
          <>
            <label for="username">Username</label>
            <input id="username" name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} autoFocus />
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" class="link" onClick={() => (setWithToken(!withToken), setError(null))}>
          {withToken ? 'Sign in with a password instead' : 'Sign in with a token instead'}
        </button>
        <p class="hint">
          No password? Sign in with a token your admin gave you (<code>mos_…</code>). The API reference is at <a href="/api/docs">/api/docs</a>.
        </p>
      </form>
    </main>
  );
}
