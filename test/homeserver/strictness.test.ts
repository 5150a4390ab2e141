/**
 * The test homeserver refuses what Synapse and Conduit refuse, with the
 * spec's error codes: non-canonical JSON in any event (client sends, state,
 * masqueraded appservice sends, edits, a new room's initial state and power
 * levels), events over 65,535 bytes as the server builds them, ids over
 * 255 bytes, state from users without the power for it, and messages
 * without msgtype or body, and Space links that link nothing.
 */
import { describe, expect, it } from 'vitest';
import { useTestHomeserver } from './index.ts';
import type { Human } from './humans.ts';

const AS_TOKEN = 'as-strict';
const GHOST = '@mosaic_agent_x:test.local';
const ctx = useTestHomeserver({
  serverName: 'test.local',
  registration: {
    id: 'strict', url: null, as_token: AS_TOKEN, hs_token: 'hs-strict', sender_localpart: 'mosaic-bot',
    namespaces: { users: [{ exclusive: true, regex: '@mosaic_.*:test\\.local' }], aliases: [], rooms: [] }, rate_limited: false,
  },
  rateLimit: false,
});

const enc = encodeURIComponent;
let txn = 0;

/** A raw request with a raw body (so `1.0` reaches the server as written). */
async function call(token: string, method: string, path: string, body?: string, asUser?: string): Promise<{ status: number; errcode?: string; error?: string; event_id?: string; room_id?: string }> {
  const url = new URL(ctx.hs.url + path);
  if (asUser) url.searchParams.set('user_id', asUser);
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  return { status: res.status, ...((await res.json()) as object) };
}

const send = (h: { accessToken: string }, roomId: string, body: string, type = 'm.room.message', asUser?: string) =>
  call(h.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/t${++txn}`, body, asUser);

async function roomWith(human: Human): Promise<string> {
  const { room_id } = await human.client.createRoom({});
  return room_id;
}

describe('canonical JSON in every event', () => {
  it('a client send with a float, `1.0`, `1e3` or an integer beyond ±(2^53 − 1) is 400 M_BAD_JSON; the largest safe integer passes', async () => {
    const alice = await ctx.hs.createHuman('alice');
    const room = await roomWith(alice);
    for (const bad of ['0.43', '1.0', '1e3', '-2.5E-3', '9007199254740992', '-9007199254740992', '18446744073709551615']) {
      const res = await send(alice, room, `{"msgtype":"m.text","body":"x","mosaic.routing":{"classification":{"confidence":${bad}}}}`);
      expect(res, bad).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    }
    // A float inside a string is just text.
    expect(await send(alice, room, '{"msgtype":"m.text","body":"0.43 and 1e3"}')).toMatchObject({ status: 200 });
    expect(await send(alice, room, '{"msgtype":"m.text","body":"x","n":9007199254740991,"m":-9007199254740991}')).toMatchObject({ status: 200 });
    expect(ctx.hs.admin.messages(room)).toHaveLength(2);
  });

  it('state events, edits and masqueraded appservice sends are checked the same way', async () => {
    const bob = await ctx.hs.createHuman('bob');
    const room = await roomWith(bob);
    const state = await call(bob.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/state/m.room.topic/`, '{"topic":"t","weight":0.5}');
    expect(state).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    const original = await send(bob, room, '{"msgtype":"m.text","body":"stub"}');
    const edit = await send(bob, room, `{"msgtype":"m.text","body":"* final","m.new_content":{"msgtype":"m.text","body":"final","mosaic.routing":{"confidence":0.43}},"m.relates_to":{"rel_type":"m.replace","event_id":"${original.event_id}"}}`);
    expect(edit).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });

    // The appservice's ghost, masquerading with ?user_id=.
    expect(await call(AS_TOKEN, 'POST', '/_matrix/client/v3/register', '{"type":"m.login.application_service","username":"mosaic_agent_x"}')).toMatchObject({ status: 200 });
    await bob.client.invite(room, GHOST);
    expect(await call(AS_TOKEN, 'POST', `/_matrix/client/v3/join/${enc(room)}`, '{}', GHOST)).toMatchObject({ status: 200 });
    expect(await send({ accessToken: AS_TOKEN }, room, '{"msgtype":"m.text","body":"hi","mosaic.routing":{"confidence":0.43}}', 'm.room.message', GHOST)).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await send({ accessToken: AS_TOKEN }, room, '{"msgtype":"m.text","body":"hi","mosaic.routing":{"confidence":"0.43"}}', 'm.room.message', GHOST)).toMatchObject({ status: 200 });
  });

  it("createRoom's initial_state and power_level_content_override are events too", async () => {
    const carol = await ctx.hs.createHuman('carol');
    const create = (body: string) => call(carol.accessToken, 'POST', '/_matrix/client/v3/createRoom', body);
    expect(await create('{"initial_state":[{"type":"m.room.history_visibility","state_key":"","content":{"history_visibility":"shared","x":1.5}}]}')).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await create('{"power_level_content_override":{"users_default":0.5}}')).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await create('{"power_level_content_override":{"users_default":0}}')).toMatchObject({ status: 200 });
  });
});

describe('event size: 65,535 bytes as the homeserver builds the event', () => {
  it('content under the limit whose event (with the envelope the server adds) is over it is 413 M_TOO_LARGE', async () => {
    const dave = await ctx.hs.createHuman('dave');
    const room = await roomWith(dave);
    const message = (n: number) => JSON.stringify({ msgtype: 'm.text', body: 'a'.repeat(n) });
    // The content alone is under 65,535 bytes, the event is not.
    expect(Buffer.byteLength(message(65_400))).toBeLessThan(65_535);
    expect(await send(dave, room, message(65_400))).toMatchObject({ status: 413, errcode: 'M_TOO_LARGE' });
    // The largest body that fits, found by bisection: one byte more is refused.
    let lo = 0;
    let hi = 65_535;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      const res = await send(dave, room, message(mid));
      if (res.status === 200) lo = mid;
      else {
        expect(res).toMatchObject({ status: 413, errcode: 'M_TOO_LARGE' });
        hi = mid;
      }
    }
    expect((await send(dave, room, message(lo + 1))).status).toBe(413);
    // The envelope (ids, hashes, signature, auth and prev events) took hundreds of bytes.
    expect(65_535 - Buffer.byteLength(message(lo))).toBeGreaterThan(500);
  });
});

describe('ids over 255 bytes', () => {
  it('txn, room and event ids in paths are 400 M_INVALID_PARAM; a user id is M_INVALID_USERNAME; a type or state key is 413 M_TOO_LARGE', async () => {
    const erin = await ctx.hs.createHuman('erin');
    const room = await roomWith(erin);
    const body = '{"msgtype":"m.text","body":"x"}';
    const long = 'x'.repeat(256);
    expect(await call(erin.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/${long}`, body)).toMatchObject({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await call(erin.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/${'x'.repeat(255)}`, body)).toMatchObject({ status: 200 });
    expect(await call(erin.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(`!${long}:test.local`)}/send/m.room.message/t1`, body)).toMatchObject({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await call(erin.accessToken, 'GET', `/_matrix/client/v3/rooms/${enc(room)}/event/${enc(`$${long}`)}`)).toMatchObject({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await call(AS_TOKEN, 'POST', '/_matrix/client/v3/register', JSON.stringify({ type: 'm.login.application_service', username: `mosaic_${'y'.repeat(250)}` }))).toMatchObject({ status: 400, errcode: 'M_INVALID_USERNAME' });
    expect(await call(erin.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/state/org.example.x/${'k'.repeat(256)}`, '{}')).toMatchObject({ status: 413, errcode: 'M_TOO_LARGE' });
    expect(await send(erin, room, '{}', `org.example.${'t'.repeat(250)}`)).toMatchObject({ status: 413, errcode: 'M_TOO_LARGE' });
  });
});

describe('power levels', () => {
  it('an agent ghost at power 0 cannot send state (403 M_FORBIDDEN); its messages go through', async () => {
    const frank = await ctx.hs.createHuman('frank');
    expect(await call(AS_TOKEN, 'POST', '/_matrix/client/v3/register', '{"type":"m.login.application_service","username":"mosaic_agent_y"}')).toMatchObject({ status: 200 });
    const ghost = '@mosaic_agent_y:test.local';
    const { room_id: room } = await frank.client.createRoom({ invite: [ghost], power_level_content_override: { users: { [frank.userId]: 100, [ghost]: 0 } } } as never);
    expect(await call(AS_TOKEN, 'POST', `/_matrix/client/v3/join/${enc(room)}`, '{}', ghost)).toMatchObject({ status: 200 });
    const topic = await call(AS_TOKEN, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/state/m.room.topic/`, '{"topic":"mine now"}', ghost);
    expect(topic).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN' });
    const tombstone = await call(AS_TOKEN, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/state/m.room.tombstone/`, JSON.stringify({ body: 'gone', replacement_room: '!other:test.local' }), ghost);
    expect(tombstone).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN' });
    expect(await send({ accessToken: AS_TOKEN }, room, '{"msgtype":"m.text","body":"hello"}', 'm.room.message', ghost)).toMatchObject({ status: 200 });
  });
});

describe('tombstones', () => {
  it('a tombstone pointing at its own room is refused (Synapse); one pointing elsewhere is accepted', async () => {
    const hank = await ctx.hs.createHuman('hank');
    const room = await roomWith(hank);
    const other = await roomWith(hank);
    const put = (replacement: string) => call(hank.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/state/m.room.tombstone/`, JSON.stringify({ body: 'moved', replacement_room: replacement }));
    expect(await put(room)).toMatchObject({ status: 400, errcode: 'M_UNKNOWN' });
    expect(await put(other)).toMatchObject({ status: 200 });
  });
});

describe('m.room.message content', () => {
  it('without msgtype or without body is 400 M_BAD_JSON', async () => {
    const gina = await ctx.hs.createHuman('gina');
    const room = await roomWith(gina);
    expect(await send(gina, room, '{"body":"no type"}')).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await send(gina, room, '{"msgtype":"m.text"}')).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    expect(await send(gina, room, '{"msgtype":"m.text","body":7}')).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    // The spec checker records these as violations of the event schema; they were refused, as intended.
    expect(ctx.hs.takeSpecViolations().length).toBeGreaterThanOrEqual(3);
    expect(ctx.hs.admin.messages(room)).toHaveLength(0);
  });

  it('redactions as Synapse checks them: the create event never, another room\'s event 400, edits listed by /relations until redacted', async () => {
    const { hs } = ctx;
    const kim = await hs.createHuman('kim-redact');
    const roomId = await roomWith(kim);
    const other = await roomWith(kim);
    const create = hs.admin.roomState(roomId).find((e) => e.type === 'm.room.create')!;
    const redact = (room: string, eventId: string) => call(kim.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/redact/${enc(eventId)}/r${++txn}`, '{}');
    expect(await redact(roomId, String(create.event_id))).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN' });
    const { event_id: original } = await kim.client.sendTextMessage(roomId, 'first words');
    expect(await redact(other, original)).toMatchObject({ status: 400, errcode: 'M_UNKNOWN' });
    const edit = await send(kim, roomId, JSON.stringify({ msgtype: 'm.text', body: '* second words', 'm.new_content': { msgtype: 'm.text', body: 'second words' }, 'm.relates_to': { rel_type: 'm.replace', event_id: original } }));
    const relations = async () => (await call(kim.accessToken, 'GET', `/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(original)}/m.replace`)) as unknown as { chunk: Array<{ event_id: string }> };
    expect((await relations()).chunk.map((e) => e.event_id)).toEqual([edit.event_id]);
    expect(await redact(roomId, edit.event_id!)).toMatchObject({ status: 200 });
    expect((await relations()).chunk).toEqual([]);
  });
});

describe('Space links', () => {
  it('m.space.child / m.space.parent need a room id as state key and a via of server names (empty: removed); a public room is published', async () => {
    const erin = await ctx.hs.createHuman('spacey');
    const { room_id: space } = await erin.client.createRoom({ creation_content: { type: 'm.space' } } as never);
    const child = await roomWith(erin);
    const put = (room: string, type: string, key: string, body: string) => call(erin.accessToken, 'PUT', `/_matrix/client/v3/rooms/${enc(room)}/state/${type}/${enc(key)}`, body);
    for (const [key, body] of [
      ['not-a-room', '{"via":["test.local"]}'],
      ['@spacey:test.local', '{"via":["test.local"]}'],
      [child, '{}'],
      [child, '{"via":"test.local"}'],
      [child, '{"via":["test local"]}'],
      [child, '{"suggested":true}'],
    ]) {
      expect(await put(space, 'm.space.child', key!, body!), `${key} ${body}`).toMatchObject({ status: 400, errcode: 'M_BAD_JSON' });
    }
    expect(await put(space, 'm.space.child', child, '{"via":["test.local"]}')).toMatchObject({ status: 200 });
    expect(await put(child, 'm.space.parent', space, '{"via":["test.local"],"canonical":true}')).toMatchObject({ status: 200 });
    expect(await put(space, 'm.space.child', child, '{"via":[]}')).toMatchObject({ status: 200 });
    // `{}`, a string `via` and `{"suggested":true}` broke the event schema too (recorded as violations).
    expect(ctx.hs.takeSpecViolations().length).toBe(3);
    expect(ctx.hs.admin.room(space).published).toBe(false);
    const { room_id: open } = await erin.client.createRoom({ visibility: 'public' } as never);
    expect(ctx.hs.admin.room(open).published).toBe(true);
  });
});
