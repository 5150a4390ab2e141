import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { FakeAppservice, useTestHomeserver } from './index.ts';

const HS_TOKEN = 'hs-secret';
const AS_TOKEN = 'as-secret';
let fake: FakeAppservice;
let registrationPath: string;

beforeAll(async () => {
  fake = await FakeAppservice.start(HS_TOKEN);
  const dir = mkdtempSync(path.join(tmpdir(), 'hs-reg-'));
  registrationPath = path.join(dir, 'registration.yaml');
  writeFileSync(registrationPath, stringify({
    id: 'mosaic', url: fake.url, as_token: AS_TOKEN, hs_token: HS_TOKEN, sender_localpart: 'mosaic-bot',
    namespaces: { users: [{ exclusive: true, regex: '@agent-.*:test\\.local' }], aliases: [{ exclusive: true, regex: '#agents-.*:test\\.local' }], rooms: [] },
    rate_limited: false,
    receive_ephemeral: true,
  }));
});
afterAll(async () => {
  await fake.stop();
});

// The registration is read from a YAML file, as a deployment would.
const ctx = useTestHomeserver(() => ({ serverName: 'test.local', registration: registrationPath }));

/** Raw Client-Server call as the appservice (what Mosaic's appservice will do through its own client). */
async function asCall(method: string, p: string, body?: unknown, userId?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(ctx.hs.url + p);
  if (userId) url.searchParams.set('user_id', userId);
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${AS_TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

const enc = encodeURIComponent;

describe('test homeserver: application service', () => {
  it('registers a ghost, sends as it, and pushes a human\'s message to the appservice', async () => {
    const { hs } = ctx;
    const reg = await asCall('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'agent-claude', inhibit_login: true });
    expect(reg).toMatchObject({ status: 200, body: { user_id: '@agent-claude:test.local' } });
    // Registering it again: M_USER_IN_USE (the appservice treats that as success).
    const again = await asCall('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'agent-claude', inhibit_login: true });
    expect(again).toMatchObject({ status: 400, body: { errcode: 'M_USER_IN_USE' } });
    // The appservice cannot register outside its namespace.
    const outside = await asCall('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'someone', inhibit_login: true });
    expect(outside).toMatchObject({ status: 400, body: { errcode: 'M_EXCLUSIVE' } });

    const ghost = '@agent-claude:test.local';
    expect((await asCall('GET', '/_matrix/client/v3/account/whoami', undefined, ghost)).body.user_id).toBe(ghost);
    expect((await asCall('GET', '/_matrix/client/v3/account/whoami')).body.user_id).toBe('@mosaic-bot:test.local');
    expect(await asCall('GET', '/_matrix/client/v3/account/whoami', undefined, '@alice:test.local')).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
    await asCall('PUT', `/_matrix/client/v3/profile/${enc(ghost)}/displayname`, { displayname: 'Claude' }, ghost);

    const human = await hs.createHuman('zoe');
    const { room_id: roomId } = await human.client.createRoom({ invite: [ghost], is_direct: true });
    expect((await asCall('POST', `/_matrix/client/v3/join/${enc(roomId)}`, {}, ghost)).status).toBe(200);
    const sent = await asCall('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`, { msgtype: 'm.text', body: 'hello from the agent' }, ghost);
    expect(sent.status).toBe(200);
    const seen = await human.waitForEvent(roomId, 'hello from the agent');
    expect(seen.sender).toBe(ghost);

    // Typing reaches the appservice as an ephemeral event (the registration asks for them).
    await human.client.sendTyping(roomId, true, 5000);
    const typing = await fake.waitFor(() => fake.transactions.find((t) => (t.body.ephemeral ?? []).some((e) => (e as { type: string }).type === 'm.typing')));
    expect(typing.body.ephemeral![0]).toMatchObject({ type: 'm.typing', room_id: roomId, content: { user_ids: [human.userId] } });

    const { event_id: humanMsg } = await human.client.sendTextMessage(roomId, 'hi agent');
    const pushed = await fake.waitFor(() => fake.events.find((e) => e.event_id === humanMsg));
    expect(pushed).toMatchObject({ type: 'm.room.message', sender: human.userId, room_id: roomId, content: { body: 'hi agent' } });
    const txn = fake.transactions.find((t) => t.body.events.some((e) => e.event_id === humanMsg))!;
    const request = fake.requests.find((r) => r.path.endsWith(`/transactions/${txn.txnId}`))!;
    expect(request.authorization).toBe(`Bearer ${HS_TOKEN}`);
    // The ghost's own events are pushed back too, as real homeservers do.
    expect(fake.events.some((e) => e.event_id === sent.body.event_id)).toBe(true);
    // Transactions arrive in order, numbered 1, 2, 3...
    const ids = fake.transactions.map((t) => Number(t.txnId));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('a human cannot register in the appservice\'s exclusive namespace (M_EXCLUSIVE)', async () => {
    const res = await fetch(`${ctx.hs.url}/_matrix/client/v3/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'agent-fake', password: 'pw', auth: { type: 'm.login.dummy' } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errcode: string }).errcode).toBe('M_EXCLUSIVE');
    // Without auth, registration answers the user-interactive flows, as Synapse does.
    const uia = await fetch(`${ctx.hs.url}/_matrix/client/v3/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ok-user', password: 'pw' }) });
    expect(uia.status).toBe(401);
    expect(((await uia.json()) as { flows: unknown }).flows).toEqual([{ stages: ['m.login.dummy'] }]);
  });

  it('retries a failed push with backoff under the same txnId, and can drop, duplicate, pause and renumber', async () => {
    const { hs } = ctx;
    const pusher = hs.pusher('mosaic');
    const human = await hs.createHuman('yan');
    const { room_id: roomId } = await human.client.createRoom({ invite: ['@mosaic-bot:test.local'] });
    await hs.flushPushes();

    // The appservice fails twice: the same transaction is retried until answered 200.
    fake.failNext = 2;
    const before = fake.transactions.length;
    const { event_id: e1 } = await human.client.sendTextMessage(roomId, 'retry me');
    await hs.flushPushes();
    const attempts = fake.transactions.slice(before).filter((t) => t.body.events.some((e) => e.event_id === e1));
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((t) => t.txnId)).size).toBe(1);
    expect(attempts.map((t) => JSON.stringify(t.body))).toEqual(Array(3).fill(JSON.stringify(attempts[0]!.body)));

    // A lost 200: the appservice processed it, the homeserver did not hear back and sends it again.
    pusher.dropNextAnswer();
    const { event_id: e2 } = await human.client.sendTextMessage(roomId, 'lost answer');
    await hs.flushPushes();
    const lost = fake.transactions.filter((t) => t.body.events.some((e) => e.event_id === e2));
    expect(lost).toHaveLength(2);
    expect(lost[0]!.txnId).toBe(lost[1]!.txnId);

    // A duplicated push.
    pusher.duplicateNext();
    const { event_id: e3 } = await human.client.sendTextMessage(roomId, 'twice');
    await hs.flushPushes();
    expect(fake.transactions.filter((t) => t.body.events.some((e) => e.event_id === e3))).toHaveLength(2);

    // Paused: events queue up, and go out in order (batched) on resume.
    pusher.pause();
    const paused = fake.transactions.length;
    const a = await human.client.sendTextMessage(roomId, 'queued 1');
    const b = await human.client.sendTextMessage(roomId, 'queued 2');
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.transactions.length).toBe(paused);
    pusher.resume();
    await hs.flushPushes();
    const order = fake.events.map((e) => e.event_id).filter((id) => id === a.event_id || id === b.event_id);
    expect(order).toEqual([a.event_id, b.event_id]);

    // A restarted homeserver numbers transactions from 1 again.
    pusher.resetTxnIds();
    await human.client.sendTextMessage(roomId, 'after restart');
    await hs.flushPushes();
    expect(fake.transactions.at(-1)!.txnId).toBe('1');
    expect(pusher.attempts.some((p) => p.dropped)).toBe(true);
  });

  it('queries the appservice for unknown users and aliases in its namespaces, and forwards pings', async () => {
    const { hs } = ctx;
    fake.onQuery = async (kind, id) => {
      if (kind === 'users' && id === '@agent-lazy:test.local') {
        const r = await asCall('POST', '/_matrix/client/v3/register', { type: 'm.login.application_service', username: 'agent-lazy', inhibit_login: true });
        return r.status === 200;
      }
      if (kind === 'rooms' && id === '#agents-lobby:test.local') {
        const r = await asCall('POST', '/_matrix/client/v3/createRoom', { room_alias_name: 'agents-lobby', preset: 'public_chat' });
        return r.status === 200;
      }
      return false;
    };
    const human = await hs.createHuman('xia');
    // Profile of a not-yet-existing ghost: the homeserver asks the appservice, which creates it.
    const profile = await fetch(`${hs.url}/_matrix/client/v3/profile/${enc('@agent-lazy:test.local')}`, { headers: { authorization: `Bearer ${human.accessToken}` } });
    expect(profile.status).toBe(200);
    expect(fake.requests.some((r) => r.path === `/_matrix/app/v1/users/${enc('@agent-lazy:test.local')}`)).toBe(true);
    // Joining an alias in the appservice's namespace: the appservice creates the room on demand.
    const joined = await human.client.joinRoom('#agents-lobby:test.local');
    expect(joined.roomId).toBe(hs.admin.resolveAlias('#agents-lobby:test.local'));
    // The human cannot claim an alias in the exclusive namespace.
    const { room_id: mine } = await human.client.createRoom({});
    const claim = await fetch(`${hs.url}/_matrix/client/v3/directory/room/${enc('#agents-mine:test.local')}`, {
      method: 'PUT', headers: { authorization: `Bearer ${human.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ room_id: mine }),
    });
    expect(((await claim.json()) as { errcode: string }).errcode).toBe('M_EXCLUSIVE');
    // Unknown ghost the appservice does not know: 404.
    const missing = await fetch(`${hs.url}/_matrix/client/v3/profile/${enc('@agent-nobody:test.local')}`, { headers: { authorization: `Bearer ${human.accessToken}` } });
    expect(missing.status).toBe(404);

    const ping = await asCall('POST', '/_matrix/client/v1/appservice/mosaic/ping', { transaction_id: 'ping-1' });
    expect(ping.status).toBe(200);
    expect(typeof ping.body.duration_ms).toBe('number');
    const received = fake.requests.find((r) => r.path === '/_matrix/app/v1/ping')!;
    expect(received.body).toEqual({ transaction_id: 'ping-1' });
    expect(received.authorization).toBe(`Bearer ${HS_TOKEN}`);
    expect(await asCall('POST', '/_matrix/client/v1/appservice/other/ping', {})).toMatchObject({ status: 403, body: { errcode: 'M_FORBIDDEN' } });
  });
});
