/**
 * The web client's sessions against the running gateway (real PostgreSQL,
 * real Valkey): a password for an HttpOnly, SameSite=Strict cookie whose
 * session lives in Valkey only as a hash; the cookie authenticates REST and
 * the socket from our own origin; every state-changing request needs the
 * same origin and the CSRF token; sign-out, disabling and deleting the user
 * end it; sign-ins are limited per client address.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { TestSocket, waitFor } from '../live/support.ts';

let m: TestMosaic;
let origin: string;

beforeAll(async () => {
  m = await startTestMosaic({ providers: ['ollama'], config: { web: { signInsPerMinute: 30 }, live: { authRecheckMs: 200 } } });
  origin = m.url;
  await m.core.accounts.createUser({ username: 'dana', password: 'correct horse battery' });
  await m.core.accounts.createUser({ username: 'erik', password: 'another good one' });
  await m.core.accounts.createUser({ username: 'fay', password: 'fay has a password' });
}, 60_000);
afterAll(async () => m?.stop());

interface Session {
  cookie: string;
  csrf: string;
  setCookie: string;
}

async function signIn(username: string, password: string, headers: Record<string, string> = { origin: m?.url ?? '' }) {
  const res = await fetch(`${m.url}/api/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ username, password }) });
  const body = (await res.json()) as { csrfToken?: string; user?: { username: string }; error?: { code: string } };
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { res, body, session: { cookie: setCookie.split(';')[0]!, csrf: body.csrfToken ?? '', setCookie } as Session };
}

function call(s: Session, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  return fetch(`${m.url}${path}`, {
    method,
    headers: { cookie: s.cookie, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
}

const sessionKeys = async () => (await m.core.valkey.keys(`${m.config.valkey.keyPrefix}:ephemeral:web:session:*`)).sort();

describe('web sessions', () => {
  it('a password gives an HttpOnly SameSite=Strict cookie; Valkey holds only its hash, with an expiry', async () => {
    const { res, body, session } = await signIn('Dana', 'correct horse battery');
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(body.user).toMatchObject({ username: 'dana', role: 'member' });
    expect(session.setCookie).toMatch(/^mosaic_session=mws_[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const id = session.cookie.split('=')[1]!;
    const keys = await sessionKeys();
    expect(keys).toContain(`${m.config.valkey.keyPrefix}:ephemeral:web:session:${createHash('sha256').update(id).digest('hex')}`);
    for (const key of keys) {
      expect(await m.core.valkey.get(key)).not.toContain(id);
      expect(await m.core.valkey.ttl(key)).toBeGreaterThan(43_000);
    }
    const me = await call(session, 'GET', '/api/me');
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('dana');
    const again = await call(session, 'GET', '/api/auth/session');
    expect(await again.json()).toMatchObject({ user: { username: 'dana' }, csrfToken: body.csrfToken });
  });

  it('is Secure and __Host- prefixed when served over https (a proxy on this host says so)', async () => {
    const { res, session } = await signIn('dana', 'correct horse battery', { 'x-forwarded-proto': 'https', origin: m.url.replace('http:', 'https:') });
    expect(res.status).toBe(201);
    expect(session.setCookie).toMatch(/^__Host-mosaic_session=mws_[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    expect((await call(session, 'GET', '/api/me')).status).toBe(200);
  });

  it('refuses a sign-in from another origin (login CSRF) and one with no origin at all', async () => {
    const before = await sessionKeys();
    const cross = await signIn('dana', 'correct horse battery', { origin: 'https://evil.example' });
    expect(cross.res.status).toBe(403);
    expect(cross.body.error?.code).toBe('csrf_refused');
    const crossSite = await signIn('dana', 'correct horse battery', { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.res.status).toBe(403);
    const none = await signIn('dana', 'correct horse battery', {});
    expect(none.res.status).toBe(403);
    expect(cross.res.headers.get('set-cookie')).toBeNull();
    expect(await sessionKeys()).toEqual(before);
  });

  it('a personal access token signs in too (accounts without a password); a wrong or revoked one does not, and revoking it ends its session', async () => {
    const { token } = await m.core.accounts.createUser({ username: 'tokenonly' });
    const post = (body: unknown) => fetch(`${m.url}/api/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify(body) });
    const ok = await post({ token });
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { user: { username: string } }).user.username).toBe('tokenonly');
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect((await fetch(`${m.url}/api/me`, { headers: { cookie } })).status).toBe(200);
    expect((await post({ token: 'mos_wrong' })).status).toBe(401);
    expect((await post({ token, username: 'tokenonly', password: 'x' })).status).toBe(400);
    expect((await post({ username: 'tokenonly' })).status).toBe(400);
    const actor = { userId: (await m.core.accounts.users.findByUsername('tokenonly'))!.id, role: 'member' as const, username: 'tokenonly' };
    const [issued] = await m.core.accounts.tokens.list(actor);
    await m.core.accounts.tokens.revoke(actor, issued!.id);
    expect((await post({ token })).status).toBe(401);
    // The session opened with it stood for it: revoked, it ends too.
    expect((await fetch(`${m.url}/api/me`, { headers: { cookie } })).status).toBe(401);
  });

  it('wrong passwords answer 401 alike and set no cookie', async () => {
    for (const [u, p] of [['dana', 'wrong'], ['nobody', 'wrong']]) {
      const { res, body } = await signIn(u!, p!);
      expect(res.status).toBe(401);
      expect(body.error?.code).toBe('invalid_credentials');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('a state-changing request needs the same origin and the CSRF token; reads need neither', async () => {
    const { session } = await signIn('erik', 'another good one');
    const patch = (headers: Record<string, string>) => call(session, 'PATCH', '/api/me', { body: { localOnly: true }, headers });
    const noToken = await patch({ origin });
    expect(noToken.status).toBe(403);
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe('csrf_refused');
    expect((await patch({ origin, 'x-csrf-token': 'mcs_forged' })).status).toBe(403);
    expect((await patch({ origin: 'https://evil.example', 'x-csrf-token': session.csrf })).status).toBe(403);
    expect((await patch({ 'sec-fetch-site': 'cross-site', 'x-csrf-token': session.csrf })).status).toBe(403);
    expect((await patch({ 'x-csrf-token': session.csrf })).status).toBe(403);
    expect((await m.core.accounts.users.findByUsername('erik'))!.localOnly).toBe(false);
    const good = await patch({ origin, 'sec-fetch-site': 'same-origin', 'x-csrf-token': session.csrf });
    expect(good.status).toBe(200);
    expect((await m.core.accounts.users.findByUsername('erik'))!.localOnly).toBe(true);
    // Another session's token is worthless here.
    const other = await signIn('erik', 'another good one');
    expect((await patch({ origin, 'x-csrf-token': other.session.csrf })).status).toBe(403);
  });

  it('a bearer token decides alone when sent: a cookie beside a wrong token does not sign in', async () => {
    const { session } = await signIn('dana', 'correct horse battery');
    const res = await call(session, 'GET', '/api/me', { headers: { authorization: 'Bearer mos_wrong' } });
    expect(res.status).toBe(401);
  });

  it('opens the socket from our origin only, and follows a conversation with it', async () => {
    const { session } = await signIn('dana', 'correct horse battery');
    const cross = await TestSocket.open(m.url, { headers: { cookie: session.cookie, origin: 'https://evil.example' } }).catch((e: { status: number }) => e);
    expect((cross as { status: number }).status).toBe(403);
    const noOrigin = await TestSocket.open(m.url, { headers: { cookie: session.cookie } }).catch((e: { status: number }) => e);
    expect((noOrigin as { status: number }).status).toBe(403);
    const socket = await TestSocket.open(m.url, { headers: { cookie: session.cookie, origin } });
    expect((socket.frames[0] as unknown as { user: { username: string } }).user.username).toBe('dana');
    const conv = (await (await call(session, 'POST', '/api/conversations', { body: { title: 'web' }, headers: { origin, 'x-csrf-token': session.csrf } })).json()) as { id: string };
    const ack = await socket.request({ type: 'subscribe', conversationId: conv.id, afterSeq: 0 });
    expect(ack.type).toBe('ack');
    await socket.close();
  });

  it('sign-out deletes the session everywhere: REST refuses the cookie, an open socket is closed with 4001', async () => {
    const { session } = await signIn('dana', 'correct horse battery');
    const socket = await TestSocket.open(m.url, { headers: { cookie: session.cookie, origin } });
    // Sign-out is a change: it needs the CSRF token too.
    expect((await call(session, 'DELETE', '/api/auth/session', { headers: { origin } })).status).toBe(403);
    const out = await call(session, 'DELETE', '/api/auth/session', { headers: { origin, 'x-csrf-token': session.csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/mosaic_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    expect((await call(session, 'GET', '/api/me')).status).toBe(401);
    await waitFor('the socket to be closed', () => socket.closed);
    expect(socket.closed!.code).toBe(4001);
  });

  it('disabling the user ends their sessions (REST and socket); deleting them too', async () => {
    const { session } = await signIn('fay', 'fay has a password');
    const socket = await TestSocket.open(m.url, { headers: { cookie: session.cookie, origin } });
    await m.core.accounts.setDisabled('fay', true);
    expect((await call(session, 'GET', '/api/me')).status).toBe(401);
    await waitFor('the socket to be closed', () => socket.closed);
    expect(socket.closed!.code).toBe(4001);
    await m.core.accounts.setDisabled('fay', false);
    const again = await signIn('fay', 'fay has a password');
    await m.core.accounts.deleteUser('fay');
    expect((await call(again.session, 'GET', '/api/me')).status).toBe(401);
  });

  it('an expired session is refused even if its key outlived it', async () => {
    const { session } = await signIn('dana', 'correct horse battery');
    const id = session.cookie.split('=')[1]!;
    const key = `${m.config.valkey.keyPrefix}:ephemeral:web:session:${createHash('sha256').update(id).digest('hex')}`;
    const held = JSON.parse((await m.core.valkey.get(key))!) as { expiresAt: number };
    await m.core.valkey.set(key, JSON.stringify({ ...held, expiresAt: Date.now() - 1 }), 'KEEPTTL');
    expect((await call(session, 'GET', '/api/me')).status).toBe(401);
  });

  it('limits password sign-ins per client address (429), on both sign-in routes', async () => {
    // From one address a proxy on this host names (trust proxy: loopback), apart from the other tests' sign-ins.
    const from = { 'x-forwarded-for': '203.0.113.7' };
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      const viaApi = i % 2 === 0;
      const res = viaApi
        ? await fetch(`${m.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...from }, body: JSON.stringify({ username: `nobody${i}`, password: 'x' }) })
        : (await signIn(`nobody${i}`, 'x', { origin, ...from })).res;
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
    // Another address is not affected.
    expect((await signIn('nobody', 'x')).res.status).toBe(401);
  });
});
