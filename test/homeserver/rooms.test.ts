import { describe, expect, it } from 'vitest';
import { MatrixError as SdkMatrixError, Preset, Visibility } from 'matrix-js-sdk';
import { useTestHomeserver } from './index.ts';

const ctx = useTestHomeserver({ serverName: 'test.local' });

async function expectMatrixError(p: Promise<unknown>, errcode: string, status?: number): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, `expected ${errcode}`).toBeInstanceOf(SdkMatrixError);
  expect((err as SdkMatrixError).errcode).toBe(errcode);
  if (status !== undefined) expect((err as SdkMatrixError).httpStatus).toBe(status);
}

describe('test homeserver: humans in rooms', () => {
  it('a human creates a room, invites another, both talk, and history comes back through /messages and /sync', async () => {
    const { hs } = ctx;
    const alice = await hs.createHuman('alice', { displayname: 'Alice' });
    const bob = await hs.createHuman('bob');
    const { room_id: roomId } = await alice.client.createRoom({ name: 'Tea', topic: 'all about tea', preset: Preset.PrivateChat });
    await alice.client.invite(roomId, bob.userId);
    expect(await bob.waitForInvite((r) => r === roomId)).toBe(roomId);
    await bob.client.joinRoom(roomId);

    const first = await alice.client.sendTextMessage(roomId, 'hello bob');
    const seenByBob = await bob.waitForEvent(roomId, 'hello bob');
    expect(seenByBob.event_id).toBe(first.event_id);
    expect(seenByBob.sender).toBe(alice.userId);
    await bob.client.sendTextMessage(roomId, 'hi alice');
    const seenByAlice = await alice.waitForEvent(roomId, 'hi alice');
    expect(seenByAlice.sender).toBe(bob.userId);

    const history = await bob.history(roomId);
    const bodies = history.filter((e) => e.type === 'm.room.message').map((e) => e.content.body);
    expect(bodies).toEqual(['hello bob', 'hi alice']);
    expect(history[0]!.type).toBe('m.room.create');
    // Paging back in small steps gives the same history.
    const paged = await bob.client.createMessagesRequest(roomId, null, 1, 'b' as never);
    expect(paged.chunk).toHaveLength(1);
    expect(paged.end).toBeTruthy();

    const members = await alice.client.getJoinedRoomMembers(roomId);
    expect(Object.keys(members.joined).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(members.joined[alice.userId]!.display_name).toBe('Alice');
    expect((await bob.client.getJoinedRooms()).joined_rooms).toContain(roomId);
    expect(hs.admin.stateContent(roomId, 'm.room.name')).toEqual({ name: 'Tea' });
  });

  it('a duplicate txnId send returns the first event id and stores one event', async () => {
    const { hs } = ctx;
    const carol = await hs.createHuman('carol');
    const { room_id: roomId } = await carol.client.createRoom({});
    const a = await carol.client.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'once' } as never, 'txn-1');
    const b = await carol.client.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'once' } as never, 'txn-1');
    expect(b.event_id).toBe(a.event_id);
    expect(hs.admin.messages(roomId).filter((e) => (e.content as { body: string }).body === 'once')).toHaveLength(1);
    // Another txnId is another event.
    const c = await carol.client.sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body: 'once' } as never, 'txn-2');
    expect(c.event_id).not.toBe(a.event_id);
  });

  it('power levels and membership are enforced with the spec errcodes', async () => {
    const { hs } = ctx;
    const owner = await hs.createHuman('owner');
    const member = await hs.createHuman('member');
    const stranger = await hs.createHuman('stranger');
    const { room_id: roomId } = await owner.client.createRoom({ preset: Preset.PublicChat, visibility: Visibility.Public });
    await member.client.joinRoom(roomId);
    // Power 0 cannot change state that needs 50.
    await expectMatrixError(member.client.setRoomName(roomId, 'mine now'), 'M_FORBIDDEN', 403);
    await expectMatrixError(member.client.sendStateEvent(roomId, 'm.room.power_levels' as never, { users: { [member.userId]: 100 } } as never), 'M_FORBIDDEN', 403);
    await expectMatrixError(member.client.kick(roomId, owner.userId), 'M_FORBIDDEN', 403);
    // A non-member cannot send.
    await expectMatrixError(stranger.client.sendTextMessage(roomId, 'let me in'), 'M_FORBIDDEN', 403);
    // The owner (100) can; raising the member to 50 lets them rename.
    await owner.client.setPowerLevel(roomId, member.userId, 50);
    await member.client.setRoomName(roomId, 'renamed');
    expect(hs.admin.stateContent(roomId, 'm.room.name')).toEqual({ name: 'renamed' });
    // But 50 is not enough for power levels themselves (100), nor to outrank the owner.
    await expectMatrixError(member.client.setPowerLevel(roomId, member.userId, 100), 'M_FORBIDDEN');
    // Ban and kick.
    await owner.client.ban(roomId, member.userId, 'bye');
    expect(hs.admin.stateContent(roomId, 'm.room.member', member.userId)?.membership).toBe('ban');
    await expectMatrixError(member.client.joinRoom(roomId), 'M_FORBIDDEN');
    await owner.client.unban(roomId, member.userId);
    await member.client.joinRoom(roomId);
    await owner.client.kick(roomId, member.userId, 'out');
    expect(hs.admin.stateContent(roomId, 'm.room.member', member.userId)?.membership).toBe('leave');
    // An invite-only room cannot be joined uninvited.
    const { room_id: privateRoom } = await owner.client.createRoom({ preset: Preset.PrivateChat });
    await expectMatrixError(stranger.client.joinRoom(privateRoom), 'M_FORBIDDEN');
    // Unknown token, unknown room.
    const bogus = (await import('matrix-js-sdk')).createClient({ baseUrl: hs.url, accessToken: 'nope', userId: '@x:test.local' });
    await expectMatrixError(bogus.whoami(), 'M_UNKNOWN_TOKEN', 401);
    await expectMatrixError(owner.client.sendTextMessage('!nosuchroom:test.local', 'hi'), 'M_NOT_FOUND', 404);
  });

  it('createRoom honours presets, is_direct, initial_state, overrides, spaces and aliases', async () => {
    const { hs } = ctx;
    const dave = await hs.createHuman('dave');
    const erin = await hs.createHuman('erin');
    const { room_id: spaceId } = await dave.client.createRoom({ name: 'Team', creation_content: { type: 'm.space' }, room_alias_name: 'team' });
    expect(hs.admin.stateContent(spaceId, 'm.room.create')?.type).toBe('m.space');
    expect(hs.admin.resolveAlias('#team:test.local')).toBe(spaceId);
    expect((await erin.client.getRoomIdForAlias('#team:test.local')).room_id).toBe(spaceId);

    const { room_id: dm } = await dave.client.createRoom({
      preset: Preset.TrustedPrivateChat, is_direct: true, invite: [erin.userId],
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }],
      power_level_content_override: { events_default: 10 },
    });
    const invite = hs.admin.stateContent(dm, 'm.room.member', erin.userId);
    expect(invite).toMatchObject({ membership: 'invite', is_direct: true });
    const pl = hs.admin.stateContent(dm, 'm.room.power_levels') as { users: Record<string, number>; events_default: number };
    expect(pl.users[erin.userId]).toBe(100);
    expect(pl.events_default).toBe(10);
    expect(hs.admin.stateContent(dm, 'm.room.history_visibility')).toEqual({ history_visibility: 'joined' });
    expect(hs.admin.stateContent(dm, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });

    // Space child/parent, tombstone, encryption, retention and topic state.
    await dave.client.sendStateEvent(spaceId, 'm.space.child' as never, { via: ['test.local'] } as never, dm);
    await dave.client.sendStateEvent(dm, 'm.space.parent' as never, { via: ['test.local'], canonical: true } as never, spaceId);
    await dave.client.sendStateEvent(dm, 'm.room.retention' as never, { max_lifetime: 86_400_000 } as never, '');
    await dave.client.sendStateEvent(dm, 'm.room.encryption' as never, { algorithm: 'm.megolm.v1.aes-sha2' } as never, '');
    // (matrix-js-sdk's setRoomTopic still sends the pre-1.15 array form of m.topic, which the spec checker rejects.)
    await dave.client.sendStateEvent(dm, 'm.room.topic' as never, { topic: 'a topic', 'm.topic': { 'm.text': [{ body: 'a topic' }] } } as never, '');
    await dave.client.sendStateEvent(dm, 'm.room.tombstone' as never, { body: 'moved', replacement_room: spaceId } as never, '');
    expect(hs.admin.stateContent(spaceId, 'm.space.child', dm)).toEqual({ via: ['test.local'] });
    expect((await dave.client.getStateEvent(dm, 'm.room.retention', '')).max_lifetime).toBe(86_400_000);
    expect((await dave.client.getStateEvent(dm, 'm.room.topic', '')).topic).toBe('a topic');
    expect((await dave.client.roomState(dm)).some((e) => e.type === 'm.room.tombstone')).toBe(true);

    // Directory aliases.
    await dave.client.createAlias('#dm:test.local', dm);
    expect((await erin.client.getRoomIdForAlias('#dm:test.local')).room_id).toBe(dm);
    await expectMatrixError(erin.client.createAlias('#dm:test.local', spaceId), 'M_UNKNOWN', 409);
    await dave.client.deleteAlias('#dm:test.local');
    await expectMatrixError(erin.client.getRoomIdForAlias('#dm:test.local'), 'M_NOT_FOUND', 404);
  });

  it('history visibility "joined" hides what happened before a member joined', async () => {
    const { hs } = ctx;
    const fay = await hs.createHuman('fay');
    const gus = await hs.createHuman('gus');
    const { room_id: roomId } = await fay.client.createRoom({
      preset: Preset.PublicChat,
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }],
    });
    await fay.client.sendTextMessage(roomId, 'before gus');
    await gus.client.joinRoom(roomId);
    await fay.client.sendTextMessage(roomId, 'after gus');
    const bodies = (await gus.history(roomId)).map((e) => e.content.body).filter(Boolean);
    expect(bodies).toEqual(['after gus']);
  });

  it('redaction, typing, profiles, leaving and purging history', async () => {
    const { hs } = ctx;
    const hal = await hs.createHuman('hal');
    const ida = await hs.createHuman('ida');
    const { room_id: roomId } = await hal.client.createRoom({ preset: Preset.PublicChat });
    await ida.client.joinRoom(roomId);
    const { event_id: secret } = await ida.client.sendTextMessage(roomId, 'secret');
    await expectMatrixError(hal.client.redactEvent(roomId, secret, undefined, { reason: 'x' }).then(async () => {
      // hal is the room admin (100), so that worked; a power-0 member redacting hal's event must not.
      const { event_id: halsOwn } = await hal.client.sendTextMessage(roomId, 'mine');
      return ida.client.redactEvent(roomId, halsOwn);
    }), 'M_FORBIDDEN');
    const redacted = hs.admin.timeline(roomId).find((e) => e.event_id === secret)!;
    expect(redacted.content).toEqual({});
    expect((redacted.unsigned as { redacted_because?: unknown }).redacted_because).toBeTruthy();

    await ida.client.sendTyping(roomId, true, 10_000);
    const typing = await hal.sync(0);
    void typing;
    await ida.client.setDisplayName('Ida I.');
    expect((await hal.client.getProfileInfo(ida.userId)).displayname).toBe('Ida I.');
    expect(hs.admin.stateContent(roomId, 'm.room.member', ida.userId)?.displayname).toBe('Ida I.');
    await expectMatrixError(hal.client.getProfileInfo('@nobody:test.local'), 'M_NOT_FOUND', 404);

    await ida.client.leave(roomId);
    await expectMatrixError(ida.client.sendTextMessage(roomId, 'gone'), 'M_FORBIDDEN');

    const before = hs.admin.messages(roomId).length;
    expect(before).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 5));
    const purged = hs.admin.purgeHistory(roomId, { ts: Date.now() });
    expect(purged).toBeGreaterThanOrEqual(before);
    expect(hs.admin.messages(roomId)).toHaveLength(0);
    expect(hs.admin.stateContent(roomId, 'm.room.create')).toBeTruthy();
    expect((await hal.history(roomId)).filter((e) => e.type === 'm.room.message')).toHaveLength(0);
  });

  it('uploads media and serves it back through authenticated download', async () => {
    const { hs } = ctx;
    const jo = await hs.createHuman('jo');
    const { content_uri: uri } = await jo.client.uploadContent(Buffer.from('hello media'), { type: 'text/plain', name: 'hello.txt' });
    expect(uri).toMatch(/^mxc:\/\/test\.local\//);
    const [, server, mediaId] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(uri)!;
    const res = await fetch(`${hs.url}/_matrix/client/v1/media/download/${server}/${mediaId}`, { headers: { authorization: `Bearer ${jo.accessToken}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('hello media');
    const anonymous = await fetch(`${hs.url}/_matrix/client/v1/media/download/${server}/${mediaId}`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { errcode: string }).errcode).toBe('M_MISSING_TOKEN');
  });

  it('rate-limits a human who sends too fast (M_LIMIT_EXCEEDED)', async () => {
    const { hs } = ctx;
    const kim = await hs.createHuman('kim');
    const { room_id: roomId } = await kim.client.createRoom({});
    const send = (i: number) => fetch(`${hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/rl${i}`, {
      method: 'PUT', headers: { authorization: `Bearer ${kim.accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'm.text', body: `n${i}` }),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await send(i)).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    const limited = await send(99);
    expect(limited.status).toBe(429);
    const body = (await limited.json()) as { errcode: string; retry_after_ms: number };
    expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
    expect(body.retry_after_ms).toBeGreaterThan(0);
  });
});
