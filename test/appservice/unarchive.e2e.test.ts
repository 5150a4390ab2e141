/**
 * Archiving and unarchiving a conversation as an Element user sees it: the
 * archived room is closed (read-only) and nobody is answered there; unarchived, the
 * conversation moves to a new room (the old room's tombstone points at it) where
 * the agent answers with the whole earlier history. A room a person
 * created, which Mosaic cannot tombstone, is simply answered in again.
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appserviceEvents, conversationMatrixRooms } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { ASSISTANT_ID, BOT, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string; token: string };
const assistant = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  w = await startMatrixWorld();
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const totalChats = () => Object.values(w.mosaic.simulators).reduce((n, s) => n + s.chatRequests().length, 0);
const lastChatBody = () => JSON.stringify(Object.values(w.mosaic.simulators).flatMap((s) => s.chatRequests()).sort((x, y) => x.at - y.at).at(-1)!.body);
const mappingOf = async (conversationId: string) => (await db().select().from(conversationMatrixRooms).where(eq(conversationMatrixRooms.conversationId, conversationId)))[0];
const mappingOfRoom = async (roomId: string) => (await db().select().from(conversationMatrixRooms).where(eq(conversationMatrixRooms.roomId, roomId)))[0];
const eventRow = async (id: string) => (await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, id)))[0];

async function setArchived(conversationId: string, archived: boolean): Promise<void> {
  const res = await w.mosaic.api(alice.token, 'PATCH', `/api/conversations/${conversationId}`, { archived });
  expect(res.status).toBe(200);
}

describe('a room Mosaic created (`!new`)', () => {
  let conversationId: string;
  let oldRoom: string;
  let newRoom: string;

  it('archiving closes the room (read-only; no tombstone until there is a room to point at); nobody is answered there', async () => {
    const { room_id: dm } = await alice.client.createRoom({ invite: [BOT], is_direct: true } as never);
    await alice.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice');
    const cmd = await say(alice, dm, '!new Garden planning');
    const started = await alice.waitForEvent(dm, (e) => e.sender === BOT && String(e.content.body).startsWith('Started **Garden planning**'), { after: cmd });
    oldRoom = await alice.waitForInvite((r) => r === decodeURIComponent(/matrix\.to\/#\/([^\s)]+)/.exec(String(started.content.body))![1]!));
    await alice.client.joinRoom(oldRoom);
    const q = await say(alice, oldRoom, 'Which vegetables grow well in partial shade?');
    await waitForAnswer(alice, oldRoom, assistant, q);
    conversationId = (await mappingOfRoom(oldRoom))!.conversationId;

    const chats = totalChats();
    await setArchived(conversationId, true);
    await until('read-only power levels', () => (w.hs.admin.stateContent(oldRoom, 'm.room.power_levels') as { events_default?: number }).events_default === 100);
    // A tombstone must name another room (Synapse refuses one naming its own): none yet.
    expect(w.hs.admin.stateContent(oldRoom, 'm.room.tombstone')).toBeUndefined();
    // Read-only for people: the homeserver refuses the message, so there is nothing to answer.
    await expect(alice.client.sendTextMessage(oldRoom, 'Are you still there?')).rejects.toThrow();
    expect(totalChats()).toBe(chats);
  });

  it('unarchiving moves the conversation to a new room: Alice is invited, the old tombstone points at it, and the agent answers there with the earlier history', async () => {
    await setArchived(conversationId, false);
    newRoom = await alice.waitForInvite((r) => r !== oldRoom && w.hs.admin.stateContent(r, 'm.room.create')?.predecessor !== undefined, 15_000);

    // The same kind of room `!new` creates, naming the archived one as its predecessor.
    expect(w.hs.admin.stateContent(newRoom, 'm.room.create')).toMatchObject({ predecessor: { room_id: oldRoom } });
    expect(w.hs.admin.stateContent(newRoom, 'm.room.name')).toEqual({ name: 'Mosaic: Garden planning' });
    expect(String(w.hs.admin.stateContent(newRoom, 'm.room.topic')?.topic)).toBe(`Mosaic conversation ${conversationId}`);
    expect(w.hs.admin.stateContent(newRoom, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
    expect((w.hs.admin.stateContent(newRoom, 'm.room.power_levels') as { users: Record<string, number> }).users).toMatchObject({ [BOT]: 100, [alice.userId]: 50, [assistant]: 0 });
    await until('the agent to join the new room', () => w.hs.admin.stateContent(newRoom, 'm.room.member', assistant)?.membership === 'join');

    // The conversation is the new room's; the archived room routes nothing any more.
    const mapping = await until('the conversation to move', async () => ((await mappingOf(conversationId))?.roomId === newRoom ? mappingOf(conversationId) : null));
    expect(mapping!.tombstonedAt).toBeNull();
    expect(await mappingOfRoom(oldRoom)).toBeUndefined();

    // Element users in the old room are led to the new one.
    const tombstone = await until('the old tombstone to point at the new room', () => {
      const t = w.hs.admin.stateContent(oldRoom, 'm.room.tombstone') as { replacement_room?: string } | undefined;
      return t?.replacement_room === newRoom ? t : null;
    });
    expect(tombstone).toMatchObject({ replacement_room: newRoom });
    const pointer = await alice.waitForEvent(oldRoom, (e) => e.sender === BOT && e.content.msgtype === 'm.notice' && String(e.content.body).includes('continues in a new room'));
    expect(String(pointer.content.body)).toContain(encodeURIComponent(newRoom));

    await alice.client.joinRoom(newRoom);
    const chats = totalChats();
    const q = await say(alice, newRoom, 'And which of those can I sow in early spring?');
    await waitForAnswer(alice, newRoom, assistant, q);
    expect(totalChats()).toBe(chats + 1);
    // The model saw the conversation so far, asked in the archived room.
    const sent = lastChatBody();
    expect(sent).toContain('Which vegetables grow well in partial shade?');
    expect(sent).toContain('which of those can I sow in early spring');
  });

  it('unarchiving again, when the room is already open, changes nothing', async () => {
    await setArchived(conversationId, false);
    const q = await say(alice, newRoom, 'One more: how deep should I plant garlic?');
    await waitForAnswer(alice, newRoom, assistant, q);
    expect((await mappingOf(conversationId))!.roomId).toBe(newRoom);
    expect(w.hs.admin.stateContent(newRoom, 'm.room.tombstone')).toBeUndefined();
  });
});

describe('a room a person created', () => {
  it('archived: the agent says so and does not answer; unarchived: it answers in the same room again', async () => {
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID);
    const q1 = await say(alice, roomId, 'What is a good name for a grey cat?');
    await waitForAnswer(alice, roomId, assistant, q1);
    const conversationId = (await mappingOfRoom(roomId))!.conversationId;

    await setArchived(conversationId, true);
    await alice.waitForEvent(roomId, (e) => e.sender === assistant && String(e.content.body).includes('was archived in Mosaic'), { after: q1 });
    const chats = totalChats();
    const ignored = await say(alice, roomId, 'Hello? Any more cat names?');
    await until('the message to be looked at', async () => (await eventRow(ignored))?.status === 'skipped');
    expect(totalChats()).toBe(chats);

    await setArchived(conversationId, false);
    const back = await alice.waitForEvent(roomId, (e) => e.sender === assistant && String(e.content.body).includes('I answer here again'), { after: ignored });
    expect(back.content.msgtype).toBe('m.notice');
    // Nobody could tombstone this room, so it stays the conversation's room.
    expect(w.hs.admin.stateContent(roomId, 'm.room.tombstone')).toBeUndefined();
    expect((await mappingOfRoom(roomId))!.tombstonedAt).toBeNull();

    const q2 = await say(alice, roomId, 'And a name for a ginger one?');
    await waitForAnswer(alice, roomId, assistant, q2);
    expect(lastChatBody()).toContain('What is a good name for a grey cat?');
  });
});
