/**
 * Teams and Spaces end to end on the test homeserver with real-client
 * humans: linking makes a personal Space holding the person's conversation
 * rooms; a team gets a Space with its members invited; sharing a room moves
 * it into the team's Space and invites the members, who talk to the agent by
 * mention and see the conversation over REST; a member added later is
 * invited; sharing with a second team moves the room; unsharing removes the
 * members the share invited (and they get 404 over REST); the power levels of
 * every Mosaic room and Space follow the seed's table.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { usageRecords } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { ASSISTANT_ID, BOT, ghostOf, say, SERVER, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
const agent = ghostOf(ASSISTANT_ID);
type Person = Human & { mosaicUserId: string; token: string };
let alice: Person;
let bob: Person;
let carol: Person;

beforeAll(async () => {
  w = await startMatrixWorld({ homeserver: { rateLimit: false } });
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const state = (roomId: string, type: string, key = '') => w.hs.admin.stateContent(roomId, type, key) as Record<string, unknown> | undefined;
const membership = (roomId: string, userId: string) => state(roomId, 'm.room.member', userId)?.membership;
const api = <T = Record<string, unknown>>(p: Person, method: string, path: string, body?: unknown) => w.mosaic.api<T>(p.token, method, path, body);

/** A person on the homeserver with a Mosaic account, linked the way an admin links (so the link's job runs). */
async function linked(name: string): Promise<Person> {
  const human = await w.hs.createHuman(name, { displayname: name[0]!.toUpperCase() + name.slice(1) });
  const { actor, token } = await w.mosaic.createUser(name);
  await w.mosaic.core.linking.links.linkAccount({ channel: 'matrix', channelUserId: human.userId, username: name }, 'test');
  return Object.assign(human, { mosaicUserId: actor.userId, token });
}

async function personalSpaceOf(p: Person): Promise<string> {
  const row = await until(`${p.userId}'s personal Space`, async () => (await db().query.personalSpaces.findFirst({ where: (s, { eq }) => eq(s.userId, p.mosaicUserId) })) ?? null, 20_000);
  return row.spaceRoomId;
}

async function teamSpaceOf(teamId: string): Promise<string> {
  const row = await until('the team Space', async () => (await db().query.teamSpaces.findFirst({ where: (s, { eq }) => eq(s.teamId, teamId) })) ?? null, 20_000);
  return row.spaceRoomId;
}

/** `!new` in the bot DM: a room Mosaic creates; the person joins it. */
async function newRoom(p: Person, title: string): Promise<{ roomId: string; conversationId: string }> {
  const { room_id: dm } = await p.client.createRoom({ invite: [BOT], is_direct: true } as never);
  await p.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice');
  const cmd = await say(p, dm, `!new ${title}`);
  const started = await p.waitForEvent(dm, (e) => e.sender === BOT && String(e.content.body).startsWith(`Started **${title}**`), { after: cmd });
  const roomId = await p.waitForInvite((r) => r === decodeURIComponent(/matrix\.to\/#\/([^\s)]+)/.exec(String(started.content.body))![1]!), 15_000);
  await p.client.joinRoom(roomId);
  const mapping = await until('the room mapping', async () => (await db().query.conversationMatrixRooms.findFirst({ where: (r, { eq }) => eq(r.roomId, roomId) })) ?? null);
  return { roomId, conversationId: mapping.conversationId };
}

const childOf = (spaceId: string, roomId: string) => (state(spaceId, 'm.space.child', roomId)?.via as string[] | undefined)?.includes(SERVER) === true;
const parentIn = (roomId: string, spaceId: string) => (state(roomId, 'm.space.parent', spaceId)?.via as string[] | undefined)?.includes(SERVER) === true;

function expectSpace(spaceId: string, humans: string[]): void {
  expect(state(spaceId, 'm.room.create')).toMatchObject({ type: 'm.space' });
  expect(state(spaceId, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
  expect(state(spaceId, 'm.room.history_visibility')).toEqual({ history_visibility: 'invited' });
  const levels = state(spaceId, 'm.room.power_levels') as { users: Record<string, number>; users_default: number; events: Record<string, number> };
  expect(levels.users).toEqual(Object.fromEntries([[BOT, 100], ...humans.map((h) => [h, 50])]));
  expect(levels.users_default).toBe(0);
  expect(levels.events['m.space.child']).toBe(100);
  expect(w.hs.admin.room(spaceId)?.published ?? false).toBe(false);
}

describe('Spaces', () => {
  let room: { roomId: string; conversationId: string };
  let personal: string;
  let research: { id: string; space: string };

  it('linking makes a personal Space; the rooms of the person’s conversations are its children, history visibility invited', async () => {
    alice = await linked('alice');
    personal = await personalSpaceOf(alice);
    await alice.waitForInvite((r) => r === personal, 15_000);
    expect(state(personal, 'm.room.name')).toEqual({ name: "Alice's Space" });
    expectSpace(personal, [alice.userId]);
    expect(membership(personal, alice.userId)).toBe('invite');

    room = await newRoom(alice, 'Kiln schedule');
    await until('the room in the personal Space', () => childOf(personal, room.roomId) && parentIn(room.roomId, personal));
    expect(state(room.roomId, 'm.space.parent', personal)).toMatchObject({ canonical: true });
    expect(state(room.roomId, 'm.room.history_visibility')).toEqual({ history_visibility: 'invited' });
    expect(state(room.roomId, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
  });

  it('a team gets a Space with its members invited; sharing moves the room there and invites them; a member talks to the agent by mention and reads it over REST', async () => {
    bob = await linked('bob');
    const created = await api<{ id: string }>(alice, 'POST', '/api/teams', { slug: 'research', name: 'Research' });
    expect(created.status).toBe(201);
    expect((await api(alice, 'POST', `/api/teams/${created.body.id}/members`, { username: 'bob' })).status).toBe(201);
    research = { id: created.body.id, space: await teamSpaceOf(created.body.id) };
    await until('Bob invited to the team Space', () => membership(research.space, bob.userId) === 'invite');
    expect(state(research.space, 'm.room.name')).toEqual({ name: 'Research' });
    expectSpace(research.space, [alice.userId, bob.userId]);

    expect((await api(bob, 'GET', `/api/conversations/${room.conversationId}`)).status).toBe(404);
    expect((await api(alice, 'POST', `/api/conversations/${room.conversationId}/share`, { teamId: 'research' })).status).toBe(200);
    await until('the room in the team Space', () => childOf(research.space, room.roomId) && parentIn(room.roomId, research.space));
    await until('out of the personal Space', () => !childOf(personal, room.roomId) && !parentIn(room.roomId, personal));
    await until('history visibility shared', () => state(room.roomId, 'm.room.history_visibility')?.history_visibility === 'shared');
    const invited = await bob.waitForInvite((r) => r === room.roomId, 15_000);
    await bob.client.joinRoom(invited);

    // Two people in the room: the agent answers when mentioned.
    const ledger = () => db().select().from(usageRecords).where(eq(usageRecords.conversationId, room.conversationId));
    const before = await ledger();
    const content = { msgtype: 'm.text', body: 'Assistant: what temperature does stoneware fire at?', 'm.mentions': { user_ids: [agent] } };
    const mention = (await bob.client.sendEvent(room.roomId, 'm.room.message' as never, content as never)).event_id;
    await waitForAnswer(bob, room.roomId, agent, mention);
    // Bob asked, so the answer counts to Bob (and to the team), not to Alice who owns the room.
    const added = await until("the answer's usage", async () => {
      const rows = (await ledger()).filter((r) => !before.some((b) => b.id === r.id));
      return rows.length ? rows : null;
    });
    expect(added.every((r) => r.userId === bob.mosaicUserId && r.teamId === research.id)).toBe(true);
    // Over REST too: his message shows in the room under his name, and its answer is his as well.
    const posted = await api<{ messageId: string }>(bob, 'POST', `/api/conversations/${room.conversationId}/messages`, { content: 'And earthenware?' });
    expect(posted.status).toBe(202);
    await alice.waitForEvent(room.roomId, (e) => e.sender === agent && String(e.content.body).startsWith('bob wrote in api:') && String(e.content.body).includes('> And earthenware?'), { timeoutMs: 20_000 });
    await until("the REST question's usage", async () => ((await ledger()).filter((r) => !before.some((b) => b.id === r.id)).length > added.length ? true : null));
    expect((await ledger()).filter((r) => r.userId === alice.mosaicUserId).length).toBe(before.filter((r) => r.userId === alice.mosaicUserId).length);
    const seen = await api<{ items: Array<{ content: string }> }>(bob, 'GET', `/api/conversations/${room.conversationId}/messages`);
    expect(seen.status).toBe(200);
    expect(seen.body.items.map((m) => m.content)).toContain('Assistant: what temperature does stoneware fire at?');
  });

  it('a member added later is invited to the team Space and the shared room', async () => {
    carol = await linked('carol');
    expect((await api(alice, 'POST', `/api/teams/${research.id}/members`, { username: 'carol' })).status).toBe(201);
    await until('Carol invited to the team Space', () => membership(research.space, carol.userId) === 'invite');
    await carol.waitForInvite((r) => r === room.roomId, 15_000);
    expect((await api(carol, 'GET', `/api/conversations/${room.conversationId}`)).status).toBe(200);
  });

  it('sharing with a second team moves the room: out of the first Space, into the second; the first team\'s invitees leave', async () => {
    const ops = (await api<{ id: string }>(alice, 'POST', '/api/teams', { slug: 'ops', name: 'Ops' })).body.id;
    const opsSpace = await teamSpaceOf(ops);
    expect((await api(alice, 'POST', `/api/conversations/${room.conversationId}/share`, { teamId: ops })).status).toBe(200);
    await until('the room in the ops Space', () => childOf(opsSpace, room.roomId) && parentIn(room.roomId, opsSpace));
    await until('out of the research Space', () => !childOf(research.space, room.roomId) && !parentIn(room.roomId, research.space));
    await until('Bob and Carol removed', () => membership(room.roomId, bob.userId) === 'leave' && membership(room.roomId, carol.userId) === 'leave');
    expect((await api(bob, 'GET', `/api/conversations/${room.conversationId}`)).status).toBe(404);
    // And back to research for the unshare below.
    expect((await api(alice, 'POST', `/api/conversations/${room.conversationId}/share`, { teamId: research.id })).status).toBe(200);
    await until('Bob invited again', () => membership(room.roomId, bob.userId) === 'invite');
    await bob.client.joinRoom(room.roomId);
  });

  it('unsharing removes the members the share invited (people invited directly stay); they get 404 over REST; the room goes home', async () => {
    // Dana was invited by Alice herself: she is no one the share invited.
    const dana = await linked('dana');
    await alice.client.invite(room.roomId, dana.userId);
    await dana.client.joinRoom(room.roomId);
    expect((await api(alice, 'DELETE', `/api/conversations/${room.conversationId}/share`)).status).toBe(200);
    await until('Bob removed', () => membership(room.roomId, bob.userId) === 'leave');
    await until('Carol removed', () => membership(room.roomId, carol.userId) === 'leave');
    expect(membership(room.roomId, dana.userId)).toBe('join');
    expect(membership(room.roomId, alice.userId)).toBe('join');
    await until('back in the personal Space', () => childOf(personal, room.roomId) && parentIn(room.roomId, personal) && !childOf(research.space, room.roomId));
    await until('history visibility invited', () => state(room.roomId, 'm.room.history_visibility')?.history_visibility === 'invited');
    expect((await api(bob, 'GET', `/api/conversations/${room.conversationId}`)).status).toBe(404);
    expect((await api(bob, 'GET', `/api/conversations/${room.conversationId}/messages`)).status).toBe(404);
  });

  it('in Matrix: `!team add` in the bot DM invites to the Space; `!share` in the room shares it (owner only), `!unshare` stops it', async () => {
    const { room_id: dm } = await alice.client.createRoom({ invite: [BOT], is_direct: true } as never);
    await alice.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice');
    const erin = await linked('erin');
    const add = await say(alice, dm, `!team add research ${erin.userId}`);
    const added = await alice.waitForEvent(dm, (e) => e.sender === BOT && String(e.content.body).includes('Added **erin**'), { after: add, timeoutMs: 20_000 });
    expect(added.content.body).toContain('as member');
    await until('Erin invited to the research Space', () => membership(research.space, erin.userId) === 'invite');
    const listed = await say(alice, dm, '!team');
    const teams = await alice.waitForEvent(dm, (e) => e.sender === BOT && String(e.content.body).startsWith('Your teams:'), { after: listed, timeoutMs: 20_000 });
    expect(teams.content.body).toContain('`research`');

    const share = await say(alice, room.roomId, '!share research');
    await alice.waitForEvent(room.roomId, (e) => e.sender === agent && String(e.content.body).startsWith('Shared with team **Research**'), { after: share, timeoutMs: 20_000 });
    await until('Bob and Erin invited', () => membership(room.roomId, bob.userId) === 'invite' && membership(room.roomId, erin.userId) === 'invite');
    await bob.client.joinRoom(room.roomId);
    // Bob is a member, not the owner: his `!unshare` changes nothing.
    const attempt = await say(bob, room.roomId, '!unshare');
    await bob.waitForEvent(room.roomId, (e) => e.sender === agent && String(e.content.body).includes('only the owner'), { after: attempt, timeoutMs: 20_000 });
    expect((await api(bob, 'GET', `/api/conversations/${room.conversationId}`)).status).toBe(200);
    const unshare = await say(alice, room.roomId, '!unshare');
    await alice.waitForEvent(room.roomId, (e) => e.sender === agent && String(e.content.body).startsWith('This conversation is no longer shared'), { after: unshare, timeoutMs: 20_000 });
    await until('Bob removed again', () => membership(room.roomId, bob.userId) === 'leave');
  });

  it('power levels in every Mosaic room and Space: bot 100, people 50, agents 0; invite-only; nothing in the public directory', async () => {
    const managed = [
      ...(await db().query.conversationMatrixRooms.findMany()).map((r) => r.roomId),
      ...(await db().query.personalSpaces.findMany()).map((s) => s.spaceRoomId),
      ...(await db().query.teamSpaces.findMany()).map((s) => s.spaceRoomId),
    ];
    expect(managed.length).toBeGreaterThanOrEqual(5);
    for (const roomId of managed) {
      const levels = state(roomId, 'm.room.power_levels') as { users: Record<string, number>; users_default: number };
      for (const [user, level] of Object.entries(levels.users)) {
        if (user === BOT) expect(level, `${user} in ${roomId}`).toBe(100);
        else if (user.startsWith('@mosaic_agent_')) expect(level, `${user} in ${roomId}`).toBe(0);
        else expect(level, `${user} in ${roomId}`).toBe(50);
      }
      expect(levels.users_default).toBe(0);
      expect(state(roomId, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
      expect(w.hs.admin.room(roomId)?.published ?? false).toBe(false);
    }
  });
});
