/**
 * The attacker suite against the Matrix side: the appservice listener
 * (what a homeserver — or whoever holds or guesses its way in — pushes)
 * and what room members can send through a real homeserver. Refused
 * requests change nothing; a hostile event is skipped with a log line
 * while its transaction is acknowledged, and the events after it still
 * flow. Every route of the appservice listener needs a case here.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appserviceEvents, conversationMatrixRooms, messages } from '../../src/db/schema.ts';
import { createLogger } from '../../src/logging.ts';
import { routeTable } from '../../src/http/route-table.ts';
import { createAppserviceApp } from '../../appservice/transport/transaction-listener.ts';
import type { Human } from '../homeserver/index.ts';
import { ASSISTANT_ID, ghostOf, inviteAgent, startMatrixWorld, until, type MatrixWorld } from '../appservice/support.ts';
import { expectResponsive, settled, snapshot, uncovered, type Surroundings } from './attack.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string; token: string };
let bob: Human & { mosaicUserId: string; token: string };
let mallory: Human;
let roomId: string;
let around: Surroundings;
/** Every request path the homeserver received, in order (to see what Mosaic asked for). */
const hsRequests: string[] = [];

beforeAll(async () => {
  w = await startMatrixWorld({ sweepIntervalMs: 500 });
  alice = await w.linkedHuman('alice');
  bob = await w.linkedHuman('bob');
  mallory = await w.hs.createHuman('mallory', { displayname: 'Mallory' });
  roomId = await inviteAgent(w, alice, ASSISTANT_ID);
  await alice.client.invite(roomId, mallory.userId);
  await mallory.client.joinRoom(roomId);
  // The test homeserver keeps its HTTP server private; listening alongside it observes without changing it.
  (w.hs as unknown as { server: Server }).server.on('request', (req: { url?: string }) => hsRequests.push(req.url ?? ''));
  around = { db: w.mosaic.core.database.db, valkey: w.mosaic.core.valkey, prefix: w.mosaic.config.valkey.keyPrefix, healthz: `${w.mosaic.url}/healthz` };
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const journalRow = async (eventId: string) => (await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, eventId)))[0];
const storedMessage = async (eventId: string) => (await db().select().from(messages).where(eq(messages.externalId, eventId)))[0];

function push(path: string, init: { body?: unknown; raw?: string; contentType?: string | null; token?: string | null; authorization?: string; method?: string } = {}) {
  const token = init.token === undefined ? w.registration.hs_token : init.token;
  const headers: Record<string, string> = {};
  if (init.authorization) headers.authorization = init.authorization;
  else if (token) headers.authorization = `Bearer ${token}`;
  const type = init.contentType === undefined ? 'application/json' : init.contentType;
  if (type) headers['content-type'] = type;
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  return fetch(`${w.registration.url}${path}`, { method: init.method ?? 'PUT', headers, ...(body !== undefined ? { body } : {}) });
}

const txn = () => `sec-${randomBytes(6).toString('hex')}`;
const event = (content: Record<string, unknown>, over: Record<string, unknown> = {}) => ({
  event_id: `$sec-${randomBytes(8).toString('hex')}`,
  room_id: roomId,
  type: 'm.room.message',
  sender: alice.userId,
  origin_server_ts: Date.now(),
  content,
  ...over,
});
/** JSON text nested `depth` objects deep (JSON.stringify itself cannot write it: its recursion runs out of stack). */
const nestedJson = (depth: number) => `${'{"n":'.repeat(depth)}"deep"${'}'.repeat(depth)}`;

interface ListenerCase {
  name: string;
  finding?: number;
  route: string;
  send: () => Promise<Response>;
  status: number;
  errcode?: string;
}

const LISTENER_CASES: ListenerCase[] = [
  { name: 'a transaction sent as text/plain is refused, nothing stored', finding: 8, route: 'PUT /_matrix/app/v1/transactions/:txnId', send: () => push(`/_matrix/app/v1/transactions/${txn()}`, { raw: JSON.stringify({ events: [event({ msgtype: 'm.text', body: 'plain' })] }), contentType: 'text/plain' }), status: 415, errcode: 'M_NOT_JSON' },
  { name: 'a transaction id of 6,000 characters is refused (ids are at most 255 bytes)', finding: 5, route: 'PUT /_matrix/app/v1/transactions/:txnId', send: () => push(`/_matrix/app/v1/transactions/${'t'.repeat(6000)}`, { body: { events: [] } }), status: 400, errcode: 'M_INVALID_PARAM' },
  { name: 'a wrong hs_token is 403 and nothing is stored', route: 'PUT /_matrix/app/v1/transactions/:txnId', send: () => push(`/_matrix/app/v1/transactions/${txn()}`, { body: { events: [event({ msgtype: 'm.text', body: 'x' })] }, token: 'wrong' }), status: 403, errcode: 'M_FORBIDDEN' },
  { name: 'a body that is not JSON is 400 M_NOT_JSON', route: 'PUT /_matrix/app/v1/transactions/:txnId', send: () => push(`/_matrix/app/v1/transactions/${txn()}`, { raw: '{"events": [' }), status: 400, errcode: 'M_NOT_JSON' },
  { name: 'the legacy path refuses text/plain too', finding: 8, route: 'PUT /transactions/:txnId', send: () => push(`/transactions/${txn()}`, { raw: '{"events":[]}', contentType: 'text/plain' }), status: 415, errcode: 'M_NOT_JSON' },
  { name: 'an unknown user of the namespace is 404', route: 'GET /_matrix/app/v1/users/:userId', send: () => push(`/_matrix/app/v1/users/${encodeURIComponent(ghostOf('00000000-0000-4000-8000-0000000000ff'))}`, { method: 'GET', contentType: null }), status: 404, errcode: 'M_NOT_FOUND' },
  { name: 'a user query without the token is 403', route: 'GET /users/:userId', send: () => push(`/users/${encodeURIComponent('@x:test.local')}`, { method: 'GET', contentType: null, token: null }), status: 403, errcode: 'M_FORBIDDEN' },
  { name: 'an alias query is 404 (Mosaic has no aliases)', route: 'GET /_matrix/app/v1/rooms/:alias', send: () => push(`/_matrix/app/v1/rooms/${encodeURIComponent('#x:test.local')}`, { method: 'GET', contentType: null }), status: 404, errcode: 'M_NOT_FOUND' },
  { name: 'an alias query on the legacy path is 404', route: 'GET /rooms/:alias', send: () => push(`/rooms/${encodeURIComponent('#y:test.local')}`, { method: 'GET', contentType: null }), status: 404, errcode: 'M_NOT_FOUND' },
  { name: 'a ping that is not JSON is 400', route: 'POST /_matrix/app/v1/ping', send: () => push('/_matrix/app/v1/ping', { method: 'POST', raw: '{' }), status: 400, errcode: 'M_NOT_JSON' },
];

describe('attacker suite: appservice listener', () => {
  it('every route of the appservice listener has at least one attack case', () => {
    const app = createAppserviceApp({ hsToken: 'x', maxBodyBytes: 1, logger: createLogger('silent'), handlers: { transaction: async () => undefined, userExists: async () => false, aliasExists: async () => false } });
    const routes = routeTable(app);
    expect(routes.length).toBeGreaterThanOrEqual(7);
    const cases = [...LISTENER_CASES, { route: 'PUT /_matrix/app/v1/transactions/:txnId' }];
    expect(uncovered(routes, cases), 'appservice routes without a case').toEqual([]);
  });

  for (const c of LISTENER_CASES) {
    it(`${c.finding ? `[finding ${c.finding}] ` : ''}${c.route}: ${c.name}`, async () => {
      await settled(around);
      const before = await snapshot(around);
      const res = await c.send();
      expect(res.status).toBe(c.status);
      const body = (await res.json()) as { errcode?: string; error?: string };
      expect(body).toMatchObject({ errcode: c.errcode ?? expect.any(String), error: expect.any(String) });
      expect(await snapshot(around), 'a refused request changed stored state').toEqual(before);
      await expectResponsive(around.healthz);
    });
  }

  it('[finding 9] the hs_token scheme is case-insensitive ("bearer")', async () => {
    const res = await push(`/_matrix/app/v1/transactions/${txn()}`, { body: { events: [] }, authorization: `bearer ${w.registration.hs_token}` });
    expect(res.status).toBe(200);
  });
});

describe('attacker suite: hostile events are skipped, the transaction acknowledged, later events flow', () => {
  const HOSTILE: Array<{ name: string; finding: number; make: () => Record<string, unknown>; raw?: (e: Record<string, unknown>) => string; reason: RegExp; recorded: boolean }> = [
    { name: 'a NUL in the message body', finding: 5, make: () => event({ msgtype: 'm.text', body: 'before\u0000after' }), reason: /NUL/, recorded: true },
    { name: 'content nested 10,000 levels', finding: 5, make: () => event({ msgtype: 'm.text', body: 'deep', extra: 'NESTED' }), raw: (e) => JSON.stringify({ events: [e] }).replace('"NESTED"', nestedJson(10_000)), reason: /nested more than/, recorded: true },
    { name: 'an event id of 4,000 characters', finding: 5, make: () => event({ msgtype: 'm.text', body: 'long id' }, { event_id: `$${'e'.repeat(4000)}` }), reason: /longer than 255 bytes/, recorded: false },
    { name: 'a lone surrogate in a key', finding: 5, make: () => event({ msgtype: 'm.text', body: 'key', ['k\ud800']: 1 }), reason: /unpaired/, recorded: true },
    { name: 'origin_server_ts of 1.5', finding: 4, make: () => event({ msgtype: 'm.text', body: 'when?' }, { origin_server_ts: 1.5 }), reason: /origin_server_ts/, recorded: true },
  ];

  for (const h of HOSTILE) {
    it(`[finding ${h.finding}] ${h.name}: 200, skipped with its reason, and a message in the next transaction is processed`, async () => {
      const hostile = h.make();
      const first = await push(`/_matrix/app/v1/transactions/${txn()}`, h.raw ? { raw: h.raw(hostile) } : { body: { events: [hostile] } });
      expect(first.status).toBe(200);
      const good = event({ msgtype: 'm.text', body: `after ${h.name}` });
      const second = await push(`/_matrix/app/v1/transactions/${txn()}`, { body: { events: [good] } });
      expect(second.status).toBe(200);
      await until('the later message to be processed', async () => (await journalRow(good.event_id))?.status === 'done');
      expect(await storedMessage(good.event_id)).toBeDefined();
      const row = await journalRow(String(hostile.event_id));
      if (h.recorded) {
        expect(row).toMatchObject({ status: 'skipped', error: expect.stringMatching(h.reason) });
        // Only identifiers are kept of what could not be stored.
        expect(row!.payload).not.toHaveProperty('content');
      } else expect(row).toBeUndefined();
      expect(await storedMessage(String(hostile.event_id))).toBeUndefined();
      await expectResponsive(around.healthz);
    });
  }
});

describe('attacker suite: room members', () => {
  it('[finding 1] an unlinked member gets no work done for them: 60 KB of "[" and an image are refused without translation or a media download', async () => {
    const upload = await mallory.client.uploadContent(Buffer.from('not really a png'), { type: 'image/png', name: 'x.png' } as never);
    const mediaBefore = hsRequests.filter((p) => p.includes('/media/download/')).length;
    const text = await mallory.client.sendTextMessage(roomId, '['.repeat(60_000));
    const image = await mallory.client.sendMessage(roomId, { msgtype: 'm.image', body: 'x.png', url: upload.content_uri, info: { mimetype: 'image/png', size: 16 } } as never);
    await until('both events to be looked at', async () => (await journalRow(text.event_id))?.status !== 'pending' && (await journalRow(image.event_id))?.status !== 'pending' && (await journalRow(image.event_id)) !== undefined);
    await expectResponsive(around.healthz);
    expect(await storedMessage(text.event_id)).toBeUndefined();
    expect(await storedMessage(image.event_id)).toBeUndefined();
    expect(hsRequests.filter((p) => p.includes('/media/download/')).length).toBe(mediaBefore);
  });

  it('a link token written in a shared room is cancelled, stored nowhere and never reaches a model; the writer is not linked', async () => {
    const issued = await w.mosaic.api<{ token: string; line: string }>(bob.token, 'POST', '/api/auth/channel-link-token', {});
    expect(issued.status).toBe(201);
    const chats = Object.values(w.mosaic.simulators).reduce((n, s) => n + s.requests.length, 0);
    const sent = await mallory.client.sendTextMessage(roomId, issued.body.line);
    const reply = await mallory.waitForEvent(roomId, (e) => e.sender === ghostOf(ASSISTANT_ID) && String(e.content.body).includes('A link token is a secret'), { timeoutMs: 20_000 });
    expect(reply.content.body).toContain('now cancelled');
    expect(reply.content.body).not.toContain(issued.body.token);
    expect(await storedMessage(sent.event_id)).toBeUndefined();
    expect(Object.values(w.mosaic.simulators).reduce((n, s) => n + s.requests.length, 0)).toBe(chats);
    const redeemed = await w.mosaic.core.linking.links.redeemToken({ channel: 'matrix', channelUserId: '@someone-else:test.local', token: issued.body.token });
    expect(redeemed).toMatchObject({ ok: false, reason: 'cancelled' });
    expect(await w.mosaic.core.linking.links.ownerOf('matrix', mallory.userId)).toBeNull();
  });

  it('[finding 7] an image whose url is not an mxc content URI (mxc://../..) builds no request', async () => {
    const before = hsRequests.length;
    const sent = await alice.client.sendMessage(roomId, { msgtype: 'm.image', body: 'evil.png', url: 'mxc://../..' } as never);
    const row = await until('the event to be skipped', async () => {
      const r = await journalRow(sent.event_id);
      return r?.status === 'skipped' ? r : null;
    });
    expect(row.error).toMatch(/mxc/);
    const asked = hsRequests.slice(before);
    expect(asked.filter((p) => p.includes('media') || p.includes('..') || /\/_matrix\/client\/v1\/?$/.test(p))).toEqual([]);
  });

  it("[finding 7] inviting another user's private agent registers nothing visible, joins nothing, makes no conversation", async () => {
    const created = await w.mosaic.api<{ id: string }>(alice.token, 'POST', '/api/agents', { name: 'diary', displayName: "Alice's Diary", systemPrompt: 'Private to Alice.' });
    expect(created.status).toBe(201);
    const ghost = ghostOf(created.body.id);
    const { room_id: bobRoom } = await bob.client.createRoom({ invite: [ghost] } as never);
    await until('the invite to be looked at', async () => {
      const rows = await db().select().from(appserviceEvents).where(and(eq(appserviceEvents.roomId, bobRoom), eq(appserviceEvents.type, 'm.room.member')));
      return rows.some((r) => (r.payload as { state_key?: string }).state_key === ghost && r.status !== 'pending');
    });
    expect(w.hs.admin.room(bobRoom).membership(ghost)).toBe('invite');
    const profile = await bob.client.getProfileInfo(ghost).catch(() => ({}) as { displayname?: string });
    expect(profile.displayname).not.toBe("Alice's Diary");
    expect(await db().select().from(conversationMatrixRooms).where(eq(conversationMatrixRooms.roomId, bobRoom))).toEqual([]);
  });
});
