/**
 * The attacker suite against the REST API of the real running gateway
 * (real PostgreSQL, real Valkey, provider simulators). Every case states
 * the request, the status and the error code; every refused request must
 * leave every table's row count and every Valkey key under the prefix as
 * they were, and the process must still answer. A route of the app without
 * a case here fails the suite.
 */
import type { Express } from 'express';
import { eq, sql } from 'drizzle-orm';
import { hashPassword } from '../../src/identity/passwords.ts';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/http/route-table.ts';
import { createLogger } from '../../src/logging.ts';
import { errorMessage } from '../../src/errors.ts';
import { users } from '../../src/db/schema.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { expectErrorShape, expectRefusalPage, expectResponsive, send, settled, snapshot, uncovered, type Surroundings, type Who } from './attack.ts';
import { channelIdentities } from '../../src/db/schema.ts';
import { testLinkChannel } from '../support/link-channel.ts';
import { REST_CASES, type RestFixtures } from './rest-cases.ts';

let t: TestMosaic;
let f: RestFixtures;
const tokens: Record<Who, string | null> = { alice: null, bob: null, admin: null, none: null };
let around: Surroundings;
const aliceWebPassword = 'alice web password';

beforeAll(async () => {
  // Probes and housekeeping far apart: nothing but the request under test moves Valkey.
  t = await startTestMosaic({ config: { health: { probeIntervalSeconds: 86_400 } } });
  tokens.admin = t.adminToken;
  const alice = await t.createUser('alice');
  await t.core.database.db.update(users).set({ passwordHash: await hashPassword(aliceWebPassword) }).where(eq(users.id, alice.actor.userId));
  const bob = await t.createUser('bob');
  tokens.alice = alice.token;
  tokens.bob = bob.token;
  const as = (who: 'alice' | 'bob') => async <T>(method: string, path: string, body?: unknown) => {
    const res = await t.api<T>(tokens[who]!, method, path, body);
    if (res.status >= 300) throw new Error(`fixture ${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const a = as('alice');
  const b = as('bob');
  const aliceConversation = (await a<{ id: string }>('POST', '/api/conversations', { title: 'Alice private' })).id;
  const bobConversation = (await b<{ id: string }>('POST', '/api/conversations', { title: 'Bob private' })).id;
  const aliceMessage = (await a<{ messageId: string }>('POST', `/api/conversations/${aliceConversation}/messages`, { content: 'my secret plan', clientMessageId: 'alice-cm-1' })).messageId;
  const aliceAgent = (await a<{ id: string }>('POST', '/api/agents', { name: 'helper', systemPrompt: 'Alice only.' })).id;
  const aliceOtherAgent = (await a<{ id: string }>('POST', '/api/agents', { name: 'other', systemPrompt: 'Alice too.' })).id;
  const bobAgent = (await b<{ id: string }>('POST', '/api/agents', { name: 'bobs', systemPrompt: 'Bob only.' })).id;
  const aliceRule = (await a<{ id: string }>('POST', '/api/routing/rules', { name: 'mine', action: { routeTo: { provider: 'ollama', model: 'llama3.2' } } })).id;
  const aliceCredential = (await a<{ id: string }>('POST', '/api/providers/credentials', { provider: 'openai', apiKey: 'sk-alice-own' })).id;
  const aliceTokenId = (await a<{ tokens: Array<{ id: string }> }>('GET', '/api/tokens')).tokens[0]!.id;
  const aliceTeam = (await a<{ id: string }>('POST', '/api/teams', { slug: 'alice-team' })).id;
  const bobTeam = (await b<{ id: string }>('POST', '/api/teams', { slug: 'bob-team' })).id;
  const aliceSharedConversation = (await a<{ id: string }>('POST', '/api/conversations', { title: 'Alice and her team' })).id;
  await a('POST', `/api/conversations/${aliceSharedConversation}/share`, { teamId: aliceTeam });
  const aliceMemory = (await t.core.services.memory.save(alice.actor, { content: 'Alice keeps her spare key in the blue pot.' })).id;
  // Linking: a chat channel like Matrix's (this gateway runs no appservice), Alice's linked id, and a browser link state.
  t.core.linking.channels.register(testLinkChannel);
  const aliceMatrixId = '@alice:example.org';
  await t.core.database.db.insert(channelIdentities).values({ channel: 'matrix', channelUserId: aliceMatrixId, userId: alice.actor.userId });
  const linkState = (await t.core.linking.browser.start({ channel: 'matrix', channelUserId: '@visitor:example.org', context: {} }))!.nonce;
  // Alice signed in to the web client (a session cookie and its CSRF token).
  const web = await t.core.accounts.users.findByUsername('alice');
  const signIn = await fetch(`${t.url}/api/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: t.url }, body: JSON.stringify({ username: 'alice', password: aliceWebPassword }) });
  if (signIn.status !== 201 || !web) throw new Error(`fixture web sign-in: ${signIn.status} ${await signIn.text()}`);
  const aliceSessionCookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
  const aliceCsrf = ((await signIn.json()) as { csrfToken: string }).csrfToken;
  f = { aliceSessionCookie, aliceCsrf, origin: t.url, aliceConversation, bobConversation, aliceMessage, aliceClientMessageId: 'alice-cm-1', aliceAgent, aliceOtherAgent, bobAgent, aliceRule, aliceCredential, aliceTokenId, aliceToken: alice.token, aliceMatrixId, linkState, aliceTeam, bobTeam, aliceSharedConversation, aliceMemory };
  around = { db: t.core.database.db, valkey: t.core.valkey, prefix: t.config.valkey.keyPrefix, healthz: `${t.url}/healthz` };
  // Let the fixtures' answer jobs finish, so they do not move state under the cases.
  await settled(around);
}, 120_000);
afterAll(() => t?.stop());

describe('attacker suite: REST', () => {
  it('every route of the app has at least one attack case', () => {
    const app = t.running.server.listeners('request')[0] as Express;
    const routes = routeTable(app);
    expect(routes.length).toBeGreaterThan(40);
    expect(uncovered(routes, REST_CASES), 'routes without a case in test/security/rest-cases.ts').toEqual([]);
    // And no case names a route that does not exist (a renamed route would leave it attacking nothing).
    const known = new Set([...routes.map((r) => `${r.method} ${r.path}`), 'unmatched']);
    expect(REST_CASES.map((c) => c.route).filter((r) => !known.has(r))).toEqual([]);
  });

  for (const c of REST_CASES) {
    it(`${c.finding ? `[finding ${c.finding}] ` : ''}${c.route}: ${c.name}`, async () => {
      const before = c.changes ? null : await snapshot(around);
      const res = await send(t.url, tokens[c.as], c.request(f));
      expect(res.status, res.text.slice(0, 300)).toBe(c.expect.status);
      if (c.expect.status >= 400) {
        if (c.expect.page) expectRefusalPage(res);
        else expectErrorShape(res, c.expect.code);
      }
      for (const [name, want] of Object.entries(c.expect.headers ?? {})) {
        const got = res.headers.get(name) ?? '';
        if (typeof want === 'string') expect(got, name).toBe(want);
        else expect(got, name).toMatch(want);
      }
      if (before) expect(await snapshot(around), 'a refused request changed stored state').toEqual(before);
      await c.then?.(f, res);
      await expectResponsive(around.healthz);
      // What an accepted request set going (an answer job) finishes before the next case takes its snapshot.
      if (c.changes) await settled(around);
    });
  }

  it('[finding 2] /metrics is on its own loopback listener, labelled by route templates only: junk paths add no series and no ids leak', async () => {
    const metricsUrl = t.running.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const series = async () => (await (await fetch(metricsUrl)).text()).split('\n').filter((l) => l.startsWith('mosaic_http_'));
    await send(t.url, tokens.alice, { method: 'GET', path: `/api/conversations/${f.aliceConversation}` });
    const before = await series();
    for (let i = 0; i < 50; i++) await send(t.url, null, { method: 'GET', path: `/${Math.random().toString(36).repeat(20)}/${i}` });
    await send(t.url, tokens.bob, { method: 'GET', path: `/api/conversations/${f.aliceConversation}` });
    const after = await series();
    // The junk paths are one series (route "unmatched", status 404), already counted or one more.
    expect(after.length - before.length).toBeLessThanOrEqual(2);
    const text = after.join('\n');
    expect(text).not.toContain(f.aliceConversation);
    expect(text).toContain('route="/api/conversations/:id"');
    expect(text).toContain('route="unmatched"');
  });

  it('[finding 10] a failed statement is logged as its operation and SQLSTATE, never its parameters or the values the database quotes', async () => {
    let logged = '';
    const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => void ((logged += String(chunk)), done()) }));
    const hash = 'scrypt$N=16384$salt-0123456789$the-hash-itself';
    let failure: unknown;
    try {
      // A duplicate username: the statement carries a password hash, and PostgreSQL's detail quotes the key.
      await t.core.database.db.insert(users).values({ username: 'alice', passwordHash: hash, displayName: 'my secret plan' });
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeDefined();
    logger.error({ err: failure }, 'request failed');
    logger.error({ event: 'x', err: errorMessage(failure) }, 'as a string');
    logger.error({ event: 'y', err: (failure as Error).message }, 'as the raw message');
    expect(logged).toContain('SQLSTATE 23505');
    expect(logged).toContain('insert into \\"users\\"');
    for (const secret of [hash, 'salt-0123456789', 'my secret plan', '(username)=(alice)']) expect(logged).not.toContain(secret);
    // The database really quoted them: the log is what keeps them out.
    expect(JSON.stringify({ m: (failure as Error).message, c: String((failure as { cause?: { detail?: string } }).cause?.detail) })).toContain('alice');
    const rows = await t.core.database.db.execute(sql`select 1`);
    expect(rows).toBeDefined();
  });
});
