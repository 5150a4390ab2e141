/** Who is signed in, and the socket that goes with the sign-in. */
import { signal } from '@preact/signals';
import { api, ApiError, setCsrfToken, whenSignedOut } from './api.ts';
import { LiveClient } from './live.ts';
import type { SessionState } from './types.ts';

export const session = signal<SessionState | null>(null);
/** Set while the first check of the cookie runs. */
export const checking = signal(true);
export const signedOutNotice = signal<string | null>(null);

let live: LiveClient | null = null;

export function liveClient(): LiveClient {
  if (!live) throw new Error('not signed in');
  return live;
}

function begin(s: SessionState): void {
  setCsrfToken(s.csrfToken);
  session.value = s;
  live = new LiveClient(() => end('Your sign-in has ended. Sign in again.'));
  live.start();
}

function end(notice: string | null): void {
  live?.stop();
  live = null;
  setCsrfToken(null);
  session.value = null;
  signedOutNotice.value = notice;
}

whenSignedOut(() => {
  if (session.value) end('Your sign-in has ended. Sign in again.');
});

/** Reads the session the cookie stands for, if any (after a reload). */
export async function restoreSession(): Promise<void> {
  try {
    begin(await api<SessionState>('GET', '/api/auth/session'));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) signedOutNotice.value = 'Mosaic did not answer; reload to try again.';
  } finally {
    checking.value = false;
  }
}

/** With a username and password, or with a personal access token (accounts without a password). */
export async function signIn(credentials: { username: string; password: string } | { token: string }): Promise<void> {
  begin(await api<SessionState>('POST', '/api/auth/session', credentials));
  signedOutNotice.value = null;
}

export async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/api/auth/session');
  } finally {
    end('You are signed out.');
  }
}
