/**
 * Retention over Matrix (#20): messages past their policy leave Mosaic's
 * store and the homeserver together — redacted there (edits included),
 * deleted here (search and the model's context with them) — never on one
 * side only, even when the homeserver fails half-way; a second run changes
 * nothing; deleting a conversation redacts its room before closing it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { appserviceEvents, conversationMatrixRooms, conversations, messages } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { MemoryStore } from '../../src/agents/memory-store.ts';
import { runPurge as runPurgeOf } from './retention-support.ts';
import { ASSISTANT_ID, BOT, CODER_ID, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string; token: string };
const assistant = ghostOf(ASSISTANT_ID);
const coder = ghostOf(CODER_ID);

beforeAll(async () => {
  w = await startMatrixWorld({ homeserver: { rateLimit: false } });
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => w.mosaic.api<T>(w.mosaic.adminToken, method, path, body);

/** Runs the retention purge now and waits for it to finish; its detail as the admin API shows it. */
const runPurge = () => runPurgeOf(w.mosaic);

async function conversationOf(roomId: string): Promise<string> {
  const [row] = await db().select().from(conversationMatrixRooms).where(eq(conversationMatrixRooms.roomId, roomId));
  return row!.conversationId;
}

/** A question and its streamed answer, delivered (the answer's events recorded on it). */
async function askAndWait(roomId: string, question: string, answer: string, ghost = assistant): Promise<void> {
  w.mosaic.simulators.anthropic.script({ text: answer, chunkSize: 10, frameDelayMs: 10 });
  const asked = await say(alice, roomId, question);
  await waitForAnswer(alice, roomId, ghost, asked);
  const conversationId = await conversationOf(roomId);
  await until('the answer to be recorded as delivered', async () => {
    const rows = await db().select().from(messages).where(and(eq(messages.conversationId, conversationId), eq(messages.role, 'assistant')));
    return rows.length > 0 && rows.every((r) => (r.metadata.matrix as { eventId?: string } | undefined)?.eventId);
  });
}

async function backdate(conversationId: string, days: number): Promise<void> {
  await db().execute(sql`update messages set created_at = created_at - make_interval(days => ${days}) where conversation_id = ${conversationId}`);
}

/** Matrix events (messages and edits) the homeserver holds in the room, with whether each is redacted. */
function roomMessages(roomId: string): Array<{ eventId: string; sender: string; redacted: boolean }> {
  return w.hs.admin
    .timeline(roomId)
    .filter((e) => e.type === 'm.room.message')
    .map((e) => ({ eventId: String(e.event_id), sender: String(e.sender), redacted: Boolean((e.unsigned as { redacted_because?: unknown } | undefined)?.redacted_because) }));
}

let dm: string | null = null;
/** A conversation room Mosaic created (`!new` in the bot's DM): the bot holds the room's top power level there. */
async function mosaicRoom(title: string): Promise<string> {
  if (!dm) {
    dm = (await alice.client.createRoom({ invite: [BOT], is_direct: true } as never)).room_id;
    await alice.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice', { timeoutMs: 20_000 });
  }
  const known = new Set((await db().select().from(conversationMatrixRooms)).map((r) => r.roomId));
  await say(alice, dm, `!new ${title}`);
  const room = await alice.waitForInvite((r) => r !== dm && !known.has(r), 20_000);
  await alice.client.joinRoom(room);
  return room;
}

/** Every Matrix event id a stored message stands for (the event it came as, or those it was sent as). */
function eventIdsOf(row: typeof messages.$inferSelect): string[] {
  const m = (row.metadata.matrix ?? {}) as { eventId?: string | null; eventIds?: string[] };
  return [...(row.channel === 'matrix' && row.externalId ? [row.externalId] : []), ...(m.eventId ? [m.eventId] : []), ...(m.eventIds ?? [])];
}

describe('retention purge over Matrix', () => {
  let roomId: string;
  let conversationId: string;

  it('a 1-day policy removes back-dated messages from REST, search, the model context and the homeserver (edits too); memories stay; the job shows its counts', async () => {
    roomId = await mosaicRoom('Zanzibar');
    await askAndWait(roomId, 'How do I write a zanzibar function in Python? Show the code.', 'A zanzibar function in Python:\n\n```python\ndef zanzibar():\n    return 42\n```\n\nCall it when you need the answer.');
    conversationId = await conversationOf(roomId);
    const stored = await db().select().from(messages).where(eq(messages.conversationId, conversationId));
    expect(stored.length).toBeGreaterThanOrEqual(2);
    const eventIds = stored.flatMap(eventIdsOf);
    const before = roomMessages(roomId);
    // The answer was streamed: its edits carry the whole text and must go too.
    expect(before.length).toBeGreaterThan(eventIds.length);
    // A summary quoting them, and a memory of Alice's own.
    const through = Math.max(...stored.map((m) => m.seq));
    await db().update(conversations).set({ summary: 'Alice asked about zanzibar functions.', summarizedThroughSeq: through }).where(eq(conversations.id, conversationId));
    const memory = await new MemoryStore(db()).save({ userId: alice.mosaicUserId, role: 'member', username: 'alice' }, { content: 'Alice likes zanzibar examples.' });

    await backdate(conversationId, 3);
    const set = await admin('PUT', '/api/admin/retention', { scope: 'kind', kind: 'personal', days: 1 });
    expect(set.status).toBe(200);

    const detail = await runPurge();
    expect(detail.failedReason).toBeNull();
    expect(detail.state).toBe('completed');
    expect(detail.returnValue).toMatchObject({ messagesDeleted: stored.length, messagesFailed: 0, summariesDropped: 1, conversationsChecked: 1 });
    expect(detail.returnValue!.channelEvents).toBe(before.length);
    expect(detail.progress).toMatchObject({ messagesDeleted: stored.length });

    // Gone from Mosaic: REST, search, the summary, the journalled payloads.
    const listed = await w.mosaic.api<{ items: unknown[] }>(alice.token, 'GET', `/api/conversations/${conversationId}/messages`);
    expect(listed.body.items).toEqual([]);
    const search = await w.mosaic.api<{ hits: unknown[] }>(alice.token, 'GET', '/api/conversations/search?q=zanzibar');
    expect(search.body.hits).toEqual([]);
    const conv = await w.mosaic.api<{ summary: string | null; retention: { days: number; source: string } }>(alice.token, 'GET', `/api/conversations/${conversationId}`);
    expect(conv.body.summary).toBeNull();
    expect(conv.body.retention).toMatchObject({ kind: 'personal', days: 1, source: 'admin-kind' });
    expect(await db().select().from(appserviceEvents).where(inArray(appserviceEvents.eventId, eventIds))).toEqual([]);
    // Redacted on the homeserver: the question, the answer and every edit of it.
    const after = roomMessages(roomId);
    for (const e of before) expect(after.find((a) => a.eventId === e.eventId)?.redacted, e.eventId).toBe(true);
    for (const e of w.hs.admin.timeline(roomId).filter((x) => before.some((b) => b.eventId === x.event_id))) expect(e.content).toEqual({});
    // Memories are the person's own facts: not touched by message retention.
    const memories = await w.mosaic.api<{ items: Array<{ id: string }> }>(alice.token, 'GET', '/api/memories');
    expect(memories.body.items.map((m) => m.id)).toContain(memory.id);

    // The model's context: the next answer is built without them.
    const sentBefore = Object.values(w.mosaic.simulators).reduce((n, s) => n + s.chatRequests().length, 0);
    await askAndWait(roomId, 'Write a Python function that adds two numbers.', 'def add(a, b):\n    return a + b');
    const requests = Object.values(w.mosaic.simulators).flatMap((s) => s.chatRequests());
    expect(requests.length).toBeGreaterThan(sentBefore);
    for (const r of requests.slice(sentBefore)) expect(JSON.stringify(r.body)).not.toMatch(/zanzibar/i);
  });

  it('running the purge again changes nothing more', async () => {
    const redactionsBefore = w.hs.admin.timeline(roomId).filter((e) => e.type === 'm.room.redaction').length;
    const countBefore = (await db().select().from(messages).where(eq(messages.conversationId, conversationId))).length;
    const detail = await runPurge();
    expect(detail.returnValue).toMatchObject({ messagesDeleted: 0, channelEvents: 0, messagesFailed: 0 });
    expect(w.hs.admin.timeline(roomId).filter((e) => e.type === 'm.room.redaction')).toHaveLength(redactionsBefore);
    expect(await db().select().from(messages).where(eq(messages.conversationId, conversationId))).toHaveLength(countBefore);
  });

  it('a homeserver failure half-way leaves nothing deleted on one side only, and the next run finishes', async () => {
    // Back to the configured year for personal conversations; this one conversation keeps a day.
    expect((await admin('PUT', '/api/admin/retention', { scope: 'kind', kind: 'personal', days: 'default' })).status).toBe(200);
    const room2 = await mosaicRoom('Quokka');
    await askAndWait(room2, 'Write a Python function for the quokka sum.', 'def quokka(xs):\n    return sum(xs)');
    await askAndWait(room2, 'And one for the quokka product in Python?', 'def quokka_product(xs):\n    out = 1\n    for x in xs:\n        out *= x\n    return out');
    const conv2 = await conversationOf(room2);
    const set = await admin<{ days: number; source: string }>('PUT', '/api/admin/retention', { scope: 'conversation', conversationId: conv2, days: 1 });
    expect(set.body).toMatchObject({ days: 1, source: 'admin-conversation' });
    await backdate(conv2, 2);
    const stored = await db().select().from(messages).where(eq(messages.conversationId, conv2));

    // The homeserver takes two redactions, then fails every one (an outage the client's retries do not outlast).
    let seen = 0;
    const outage = w.hs.redactFaults.refuse({ status: 503, when: () => ++seen > 2 });
    const first = await runPurge();
    expect(first.state).toBe('completed');
    expect(first.returnValue!.messagesFailed).toBeGreaterThan(0);
    expect(first.returnValue!.messagesDeleted).toBeLessThan(stored.length);

    const redacted = new Set(roomMessages(room2).filter((e) => e.redacted).map((e) => e.eventId));
    const left = await db().select().from(messages).where(eq(messages.conversationId, conv2));
    const leftIds = new Set(left.map((m) => m.id));
    // Deleted here ⇒ every event of it redacted there.
    for (const gone of stored.filter((m) => !leftIds.has(m.id))) for (const e of eventIdsOf(gone)) expect(redacted.has(e), `${e} of a deleted message`).toBe(true);
    // Kept here: marked for the next run, with the homeserver's error.
    expect(left.length).toBeGreaterThan(0);
    for (const m of left) {
      expect(m.retentionFailedAt).not.toBeNull();
      expect(m.retentionError).toMatch(/matrix: .*503/);
    }

    outage.lift();
    const second = await runPurge();
    expect(second.returnValue).toMatchObject({ messagesDeleted: left.length, messagesFailed: 0 });
    expect(await db().select().from(messages).where(eq(messages.conversationId, conv2))).toEqual([]);
    for (const e of roomMessages(room2)) expect(e.redacted, e.eventId).toBe(true);

    const third = await runPurge();
    expect(third.returnValue).toMatchObject({ messagesDeleted: 0, channelEvents: 0, messagesFailed: 0 });
  });
});

describe('a room a person created', () => {
  it("keeps the person's messages (marked, with what to change) while Mosaic may not redact them; the agent's own answers go", async () => {
    // Alice created the room and invited the coder's ghost at power 0: it may redact only its own events.
    const roomId = await inviteAgent(w, alice, CODER_ID);
    await askAndWait(roomId, 'Write a Python function named numbat.', 'def numbat():\n    return 1', coder);
    const conversationId = await conversationOf(roomId);
    await backdate(conversationId, 5);
    await admin('PUT', '/api/admin/retention', { scope: 'conversation', conversationId, days: 1 });
    const detail = await runPurge();
    expect(detail.returnValue!.messagesFailed).toBe(1);
    const [kept, ...rest] = await db().select().from(messages).where(eq(messages.conversationId, conversationId));
    expect(rest).toEqual([]);
    expect(kept!.senderId).toBe(alice.userId);
    expect(kept!.retentionError).toMatch(/redact.*power level/);
    const events = roomMessages(roomId);
    expect(events.find((e) => e.eventId === kept!.externalId)?.redacted).toBe(false);
    for (const e of events.filter((x) => x.sender === coder)) expect(e.redacted, e.eventId).toBe(true);
  });
});

describe('deleting a conversation', () => {
  it('redacts its room\'s events, then closes the room and leaves it, and removes the conversation from the store', async () => {
    const roomId = await mosaicRoom('Wombat');
    await askAndWait(roomId, 'Write a Python function named wombat.', 'def wombat():\n    pass');
    const conversationId = await conversationOf(roomId);
    const before = roomMessages(roomId);
    expect(before.length).toBeGreaterThanOrEqual(2);

    const deleted = await w.mosaic.api(alice.token, 'DELETE', `/api/conversations/${conversationId}`);
    expect(deleted.status).toBe(204);
    await until('the conversation to be erased', async () => (await db().select().from(conversations).where(eq(conversations.id, conversationId))).length === 0, 30_000);

    const after = roomMessages(roomId);
    for (const e of before) expect(after.find((a) => a.eventId === e.eventId)?.redacted, e.eventId).toBe(true);
    // Then closed: read-only, with a notice (after the deletion, so not redacted), and left by Mosaic.
    const notice = after.find((e) => !before.some((b) => b.eventId === e.eventId) && !e.redacted);
    expect(notice).toBeDefined();
    expect(w.hs.admin.stateContent(roomId, 'm.room.power_levels', '')).toMatchObject({ events_default: 100 });
    expect(w.hs.admin.stateContent(roomId, 'm.room.member', assistant)).toMatchObject({ membership: 'leave' });
    expect(w.hs.admin.stateContent(roomId, 'm.room.member', BOT)).toMatchObject({ membership: 'leave' });
    expect(await db().select().from(messages).where(eq(messages.conversationId, conversationId))).toEqual([]);
    // The journal's copies of what was said are gone too (later pushes, like the closing state changes, may follow).
    expect(await db().select().from(appserviceEvents).where(inArray(appserviceEvents.eventId, before.map((e) => e.eventId)))).toEqual([]);
    // Gone for its owner too.
    expect((await w.mosaic.api(alice.token, 'GET', `/api/conversations/${conversationId}`)).status).toBe(404);
  });
});
