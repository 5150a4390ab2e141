/**
 * Who is answered: unlinked users get the how-to-link line; the bot and the
 * ghosts are never answered (no loops); with several people the agent
 * answers when addressed; the bot's DM commands; encrypted rooms.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appserviceEvents } from '../../src/db/schema.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import type { Human } from '../homeserver/index.ts';
import { answerIn, ASSISTANT_ID, BOT, CODER_ID, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string };
const assistant = ghostOf(ASSISTANT_ID);
const coder = ghostOf(CODER_ID);

beforeAll(async () => {
  w = await startMatrixWorld();
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const totalChats = () => Object.values(w.mosaic.simulators).reduce((n, s) => n + s.chatRequests().length, 0);
const eventRow = async (id: string) => (await w.mosaic.core.database.db.select().from(appserviceEvents).where(eq(appserviceEvents.eventId, id)))[0];

/** Sends as one of the appservice's own users (what a loop would look like). */
async function sendAs(userId: string, roomId: string, body: string): Promise<string> {
  const url = `${w.hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${Date.now()}${Math.random().toString(36).slice(2)}?user_id=${encodeURIComponent(userId)}`;
  const res = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${w.registration.as_token}`, 'content-type': 'application/json' }, body: JSON.stringify({ msgtype: 'm.text', body }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { event_id: string }).event_id;
}

describe('who is answered', () => {
  it('an unlinked user inviting an agent gets the how-to-link line, and nothing is created for them', async () => {
    const carol = await w.hs.createHuman('carol');
    const { room_id } = await carol.client.createRoom({ invite: [coder] } as never);
    const line = await carol.waitForEvent(room_id, (e) => e.sender === coder && e.content.msgtype === 'm.notice');
    expect(String(line.content.body)).toContain(`Your Matrix account ${carol.userId} is not linked to a Mosaic account`);
    expect(String(line.content.body)).toContain('ask your Mosaic admin to link it');
    await carol.waitForEvent(room_id, (e) => e.type === 'm.room.member' && e.state_key === coder && e.content.membership === 'leave');
    expect(await w.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq: is }) => is(r.roomId, room_id) })).toBeUndefined();
  });

  it('an unlinked user writing in a shared room gets the how-to-link reply instead of an answer', async () => {
    const dave = await w.hs.createHuman('dave');
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID, { invite: [dave.userId] });
    await dave.client.joinRoom(roomId);
    const chats = totalChats();
    const q = await say(dave, roomId, 'Mosaic Assistant, what time is it in Tokyo?');
    const reply = await dave.waitForEvent(roomId, (e) => e.sender === assistant && e.content.msgtype === 'm.notice', { after: q });
    expect(String(reply.content.body)).toContain(`${dave.userId} is not linked`);
    expect((reply.content['m.relates_to'] as { 'm.in_reply_to': { event_id: string } })['m.in_reply_to'].event_id).toBe(q);
    expect(totalChats()).toBe(chats);
  });

  it('the bot and the ghosts are never answered', async () => {
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID);
    const chats = totalChats();
    // A second agent invited to the room joins and says the room already has its agent.
    await alice.client.invite(roomId, coder);
    const second = await alice.waitForEvent(roomId, (e) => e.sender === coder && e.content.msgtype === 'm.notice');
    expect(String(second.content.body)).toContain('!agent coder');
    const fromGhost = await sendAs(coder, roomId, 'Assistant, please answer me forever.');
    const fromSelf = await sendAs(assistant, roomId, 'I talk to myself.');
    await w.hs.flushPushes();
    for (const id of [fromGhost, fromSelf]) {
      const row = await until(`event ${id} to be processed`, async () => {
        const r = await eventRow(id);
        return r && r.status !== 'pending' ? r : null;
      });
      expect(row).toMatchObject({ status: 'skipped', error: 'sent by one of our own users' });
    }
    // A human's message after them is answered: the pipeline was running all along.
    const q = await say(alice, roomId, 'Hello there, how are you today?');
    await waitForAnswer(alice, roomId, assistant, q);
    expect(totalChats()).toBe(chats + 1);
  });

  it('with two people the agent answers only when addressed; `!room reply-to all` changes that', async () => {
    const bob = await w.linkedHuman('bob');
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID, { invite: [bob.userId] });
    await bob.client.joinRoom(roomId);
    await alice.waitForEvent(roomId, (e) => e.type === 'm.room.member' && e.state_key === bob.userId && e.content.membership === 'join');
    const chats = totalChats();
    const chatter = await say(alice, roomId, 'Bob, lunch at noon?');
    const asked = await say(alice, roomId, 'Mosaic Assistant, what is 2 + 2?');
    await waitForAnswer(alice, roomId, assistant, asked);
    const events = (await alice.history(roomId)).filter((e) => e.type === 'm.room.message');
    const answers = answerIn(events.slice(events.findIndex((e) => e.event_id === chatter)), assistant);
    expect(answers).toHaveLength(1);
    // In a shared room the answer quotes the question it answers.
    expect((answers[0]!.original.content['m.relates_to'] as { 'm.in_reply_to': { event_id: string } })['m.in_reply_to'].event_id).toBe(asked);
    expect(totalChats()).toBe(chats + 1);

    const mode = await say(bob, roomId, '!room reply-to all');
    const notice = await bob.waitForEvent(roomId, (e) => e.sender === assistant && e.content.msgtype === 'm.notice', { after: mode });
    expect(String(notice.content.body)).toContain('I answer every message');
    const plain = await say(bob, roomId, 'Anyone knows a good book about gardening?');
    await waitForAnswer(bob, roomId, assistant, plain);
  });
});

describe("the bot's direct messages", () => {
  it('the bot joins, greets, and `!new` creates a conversation room with the default agent and invites the user', async () => {
    const { room_id: dm } = await alice.client.createRoom({ invite: [BOT], is_direct: true } as never);
    const greeting = await alice.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice');
    expect(String(greeting.content.body)).toContain('!new');

    const agents = await say(alice, dm, '!agents');
    const list = await alice.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice', { after: agents });
    expect(String(list.content.body)).toContain(coder);

    const cmd = await say(alice, dm, '!new Holiday plans');
    const started = await alice.waitForEvent(dm, (e) => e.sender === BOT && String(e.content.body).startsWith('Started **Holiday plans**'), { after: cmd });
    const roomId = /matrix\.to\/#\/([^\s)]+)/.exec(String(started.content.body))![1]!;
    const invited = await alice.waitForInvite((r) => r === decodeURIComponent(roomId));
    await alice.client.joinRoom(invited);
    const state = w.hs.admin.roomState(invited);
    const name = state.find((s) => s.type === 'm.room.name')!.content as { name: string };
    expect(name.name).toBe('Mosaic: Holiday plans');
    const levels = state.find((s) => s.type === 'm.room.power_levels')!.content as { users: Record<string, number> };
    expect(levels.users).toMatchObject({ [BOT]: 100, [alice.userId]: 50, [assistant]: 0 });
    expect((state.find((s) => s.type === 'm.room.join_rules')!.content as { join_rule: string }).join_rule).toBe('invite');
    expect(String((state.find((s) => s.type === 'm.room.topic')!.content as { topic: string }).topic)).toMatch(/Mosaic conversation [0-9a-f-]{36}/);

    const q = await say(alice, invited, 'Suggest a quiet beach town in Portugal.');
    await waitForAnswer(alice, invited, assistant, q);

    const rooms = await say(alice, dm, '!rooms');
    const listed = await alice.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice', { after: rooms });
    expect(String(listed.content.body)).toContain('Holiday plans');
  });

  it('archiving the conversation makes its room read-only', async () => {
    const actor = actorOf((await w.mosaic.core.accounts.users.findByUsername('alice'))!);
    const conv = (await w.mosaic.service.stores.conversations.list(actor, { limit: 50, offset: 0 })).items.find((c) => c.title === 'Holiday plans')!;
    const room = (await w.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq: is }) => is(r.conversationId, conv.id) }))!;
    await w.mosaic.service.api.update(actor, conv.id, { archived: true });
    const levels = await until('read-only power levels', () => {
      const pl = w.hs.admin.roomState(room.roomId).find((s) => s.type === 'm.room.power_levels')!.content as { events_default: number };
      return pl.events_default === 100 ? pl : null;
    });
    expect(levels.events_default).toBe(100);
    await expect(alice.client.sendTextMessage(room.roomId, 'still there?')).rejects.toThrow();
  });
});

describe('encrypted rooms', () => {
  it('an agent invited to an encrypted room says once that encrypted rooms are not supported, and does not answer', async () => {
    const { room_id } = await alice.client.createRoom({ invite: [coder], initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] } as never);
    const notice = await alice.waitForEvent(room_id, (e) => e.sender === coder && e.content.msgtype === 'm.notice');
    expect(String(notice.content.body)).toContain('encrypted rooms yet');
    const chats = totalChats();
    const q = await say(alice, room_id, 'plain text in an encrypted room');
    await w.hs.flushPushes();
    await until('the message to be looked at', async () => (await eventRow(q))?.status === 'skipped');
    const fromCoder = (await alice.history(room_id)).filter((e) => e.sender === coder && e.type === 'm.room.message');
    expect(fromCoder).toHaveLength(1);
    expect(totalChats()).toBe(chats);
  });
});
