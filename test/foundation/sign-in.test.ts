/**
 * POST /api/auth/login against the running gateway: a password for a
 * token, refusals that do not say which part was wrong, and a lockout per
 * username shared with the link page's sign-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let m: TestMosaic;

beforeAll(async () => {
  m = await startTestMosaic({ providers: ['ollama'], config: { linking: { maxFailedAttempts: 3 } } });
  await m.core.accounts.createUser({ username: 'dana', password: 'correct horse battery' });
  await m.core.accounts.createUser({ username: 'erik', password: 'another good one' });
  await m.core.accounts.createUser({ username: 'nopass' });
});
afterAll(async () => m?.stop());

async function login(body: unknown) {
  const res = await fetch(`${m.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
}

describe('POST /api/auth/login', () => {
  it('gives a working personal access token for a right password, whatever the username case', async () => {
    const res = await login({ username: ' Dana ', password: 'correct horse battery', tokenName: 'tui on laptop' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toMatchObject({ username: 'dana', role: 'member', name: 'tui on laptop' });
    const me = await m.api<{ username: string }>(res.body.token as string, 'GET', '/api/me');
    expect(me).toMatchObject({ status: 200, body: { username: 'dana' } });
    const tokens = await m.api<{ tokens: Array<{ name: string }> }>(res.body.token as string, 'GET', '/api/tokens');
    expect(tokens.body.tokens.map((t) => t.name)).toContain('tui on laptop');
  });

  it('answers a wrong password, an unknown user and an account without a password alike (401)', async () => {
    for (const body of [{ username: 'dana', password: 'wrong' }, { username: 'nobody', password: 'wrong' }, { username: 'nopass', password: 'anything' }]) {
      const res = await login(body);
      expect(res.status).toBe(401);
      expect(res.body.error?.code).toBe('invalid_credentials');
    }
  });

  it('locks a username after repeated failures (429 with Retry-After), even for the right password; other usernames are not affected', async () => {
    const outcomes: number[] = [];
    for (let i = 0; i < 3; i++) outcomes.push((await login({ username: 'erik', password: `guess ${i}` })).status);
    expect(outcomes).toEqual([401, 401, 429]);
    const locked = await login({ username: 'erik', password: 'another good one' });
    expect(locked.status).toBe(429);
    expect(locked.body.error?.code).toBe('sign_in_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await login({ username: 'dana', password: 'correct horse battery' })).status).toBe(201);
  });

  it("shares the lockout with the link page's sign-in", async () => {
    const lockedThere = await m.core.linking.signIn.signIn('ERIK', 'another good one');
    expect(lockedThere.outcome).toBe('locked');
  });

  it('refuses a disabled account like a wrong password', async () => {
    await m.core.accounts.setDisabled('dana', true);
    const res = await login({ username: 'dana', password: 'correct horse battery' });
    expect(res.status).toBe(401);
    await m.core.accounts.setDisabled('dana', false);
  });
});
