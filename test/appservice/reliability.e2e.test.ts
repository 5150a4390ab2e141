/**
 * Nothing lost, nothing doubled: homeserver retries (a lost answer, a
 * duplicated push, txnIds numbered from 1 again), Mosaic killed between
 * storing a transaction and acknowledging it, wrong tokens, malformed and
 * oversized bodies.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { appserviceEvents, appserviceTransactions, messages } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { answerIn, ASSISTANT_ID, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string };
let roomId: string;
const agent = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  // No background sweep: only the paths under test process stored events.
  w = await startMatrixWorld({ sweepIntervalMs: 600_000 });
  alice = await w.linkedHuman('alice');
  roomId = await inviteAgent(w, alice, ASSISTANT_ID);
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const pusher = () => w.hs.pusher(w.registration.id);
const totalChats = () => Object.values(w.mosaic.simulators).reduce((n, s) => n + s.chatRequests().length, 0);
const storedCopies = async (eventId: string) => (await db().select().from(messages).where(eq(messages.externalId, eventId))).length;

async function answersAfter(eventId: string) {
  const events = (await alice.history(roomId)).filter((e) => e.type === 'm.room.message');
  const after = events.slice(events.findIndex((e) => e.event_id === eventId) + 1);
  return answerIn(after, agent);
}

/** A pushed transaction that carries a message with this text: fault injections aim at it, not at unrelated traffic. */
const carrying = (text: string) => (body: { events: Array<{ content?: unknown }> }) => body.events.some((e) => (e.content as { body?: unknown } | undefined)?.body === text);

function put(path: string, body: unknown, token: string | null = w.registration.hs_token, raw?: string) {
  return fetch(`${w.registration.url}${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ?? JSON.stringify(body),
  });
}

const textEvent = (body: string) => ({
  event_id: `$direct-${randomBytes(6).toString('hex')}`,
  room_id: roomId,
  type: 'm.room.message',
  sender: alice.userId,
  origin_server_ts: Date.now(),
  content: { msgtype: 'm.text', body },
});

describe('homeserver retries', () => {
  it('a lost answer: the same transaction pushed again gives one stored message and one reply', async () => {
    const chats = totalChats();
    const question = 'Tell me one fun fact about octopuses.';
    // Only the push carrying the question loses its answer; other traffic (typing, earlier events) must not take the drop.
    pusher().dropNextAnswer(1, carrying(question));
    const q = await say(alice, roomId, question);
    await waitForAnswer(alice, roomId, agent, q);
    await w.hs.flushPushes();
    const pushes = pusher().attempts.filter((a) => a.body.events.some((e) => e.event_id === q));
    expect(pushes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(pushes.map((p) => p.txnId)).size).toBe(1);
    expect(pushes[0]!.dropped).toBe(true);
    expect(await storedCopies(q)).toBe(1);
    expect(await answersAfter(q)).toHaveLength(1);
    expect(totalChats()).toBe(chats + 1);
  });

  it('a duplicated push gives one stored message and one reply', async () => {
    const chats = totalChats();
    const question = 'And one fun fact about owls, please.';
    pusher().duplicateNext(1, carrying(question));
    const q = await say(alice, roomId, question);
    await waitForAnswer(alice, roomId, agent, q);
    await w.hs.flushPushes();
    expect(pusher().attempts.filter((a) => a.body.events.some((e) => e.event_id === q)).length).toBe(2);
    expect(await storedCopies(q)).toBe(1);
    expect(await answersAfter(q)).toHaveLength(1);
    expect(totalChats()).toBe(chats + 1);
  });

  it('a restarted homeserver numbering transactions from 1 again still delivers its new events', async () => {
    await w.hs.flushPushes();
    pusher().resetTxnIds();
    const q = await say(alice, roomId, 'What is the capital of Portugal?');
    await waitForAnswer(alice, roomId, agent, q);
    const push = pusher().attempts.find((a) => a.body.events.some((e) => e.event_id === q))!;
    // The txnId was used before, with other events.
    expect(Number(push.txnId)).toBeLessThan(5);
    expect((await db().select().from(appserviceTransactions).where(eq(appserviceTransactions.txnId, push.txnId))).length).toBeGreaterThanOrEqual(2);
    expect(await storedCopies(q)).toBe(1);
  });

  it('killed between storing and acknowledging: after the restart the retry does not answer twice', async () => {
    await w.hs.flushPushes();
    // A drain still working through earlier events would pick up the stored
    // event before the "crash"; start from a quiet journal so the event is
    // provably left unprocessed until the restart.
    await until('earlier events to be processed', async () => (await db().select().from(appserviceEvents).where(eq(appserviceEvents.status, 'pending'))).length === 0);
    // The drain that finished them looks once more for work; let that look come back empty.
    await new Promise((r) => setTimeout(r, 100));
    const chats = totalChats();
    let crashedTxn: string | null = null;
    const question = 'Which planet is the largest in the solar system?';
    w.faults.afterStore = (txnId) => {
      // Crash on the question's transaction only; other traffic (typing, late events) passes.
      const carriesQuestion = pusher().attempts.some((a) => a.txnId === txnId && carrying(question)(a.body));
      if (!carriesQuestion) return;
      crashedTxn = txnId;
      w.faults.afterStore = undefined;
      // The homeserver keeps the transaction until Mosaic is back.
      pusher().pause();
      throw Object.assign(new Error('simulated crash after storing'), { crash: true });
    };
    const { event_id: q } = await alice.client.sendTextMessage(roomId, question);
    await until('the crash', () => crashedTxn);
    const row = await until('the event to be stored', async () => (await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, q)))[0]);
    expect(row.status).toBe('pending');
    expect(await storedCopies(q)).toBe(0);

    await w.mosaic.restart();
    pusher().resume();
    pusher().retryNow();
    await waitForAnswer(alice, roomId, agent, undefined);
    await w.hs.flushPushes();
    await until('the answer to the crashed message', async () => (await answersAfter(q)).length === 1);
    // The retry was acknowledged without processing the events again.
    const pushes = pusher().attempts.filter((a) => a.txnId === crashedTxn && a.body.events.some((e) => e.event_id === q));
    expect(pushes.map((p) => p.outcome)).toEqual(['M_CONNECTION_FAILED', 200]);
    expect(await storedCopies(q)).toBe(1);
    expect(await answersAfter(q)).toHaveLength(1);
    expect(totalChats()).toBe(chats + 1);
    expect((await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, q)))[0]!.status).toBe('done');
  });
});

describe('bad input changes nothing', () => {
  it('a wrong or missing hs_token gets 403 M_FORBIDDEN and nothing is stored', async () => {
    const e = textEvent('this must never be stored');
    for (const token of ['wrong-token', null]) {
      const res = await put('/_matrix/app/v1/transactions/evil-1', { events: [e] }, token);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ errcode: 'M_FORBIDDEN' });
    }
    const legacy = await fetch(`${w.registration.url}/transactions/evil-2?access_token=wrong`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [e] }) });
    expect(legacy.status).toBe(403);
    expect(await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, e.event_id))).toHaveLength(0);
    expect(await db().select().from(appserviceTransactions).where(eq(appserviceTransactions.txnId, 'evil-1'))).toHaveLength(0);
    expect(await storedCopies(e.event_id)).toBe(0);
  });

  it('the legacy path with the token as a query parameter is accepted', async () => {
    const e = { ...textEvent('legacy'), type: 'org.example.unused' };
    const res = await fetch(`${w.registration.url}/transactions/legacy-1?access_token=${w.registration.hs_token}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [e] }) });
    expect(res.status).toBe(200);
    await until('the event to be looked at', async () => (await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, e.event_id)))[0]?.status === 'skipped');
  });

  it('malformed events are skipped with a log line, and the rest of the transaction is processed', async () => {
    const warn = vi.spyOn(w.mosaic.core.logger, 'warn');
    try {
      const good = textEvent('Name three primary colours.');
      const noContent = { event_id: `$bad-${randomBytes(4).toString('hex')}`, room_id: roomId, type: 'm.room.message', sender: alice.userId, origin_server_ts: Date.now() };
      const badBody = { ...textEvent('x'), content: { msgtype: 'm.text', body: 42 } };
      const res = await put(`/_matrix/app/v1/transactions/mixed-${Date.now()}`, { events: ['garbage', noContent, badBody, good] });
      expect(res.status).toBe(200);
      await until('the good event to be answered', async () => (await db().select().from(messages).where(eq(messages.replyToId, (await db().select().from(messages).where(eq(messages.externalId, good.event_id)))[0]?.id ?? '00000000-0000-4000-8000-000000000000'))).length > 0);
      const skipped = warn.mock.calls.filter((c) => (c[0] as { event?: string }).event === 'transaction.event_skipped');
      expect(skipped.map((c) => (c[0] as { reason: string }).reason)).toEqual(['not an object', 'content missing or not an object']);
      expect((await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, noContent.event_id)))[0]).toMatchObject({ status: 'skipped' });
      // Well-formed as an event, but its content cannot be a message: skipped when processed, with a reason.
      const bad = await until('the bad body to be processed', async () => (await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, badBody.event_id)))[0]?.status === 'skipped' && (await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, badBody.event_id)))[0]);
      expect(bad && bad.error).toContain('body');
      expect(await storedCopies(good.event_id)).toBe(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('messages older than the bot joining, and backfilled history, are never answered', async () => {
    const chats = totalChats();
    const old = { ...textEvent('An old question from before Mosaic was here?'), origin_server_ts: Date.now() - 86_400_000 };
    const historical = { ...textEvent('A backfilled question?'), content: { msgtype: 'm.text', body: 'A backfilled question?', 'org.matrix.msc2716.historical': true } };
    const fresh = textEvent('A question asked now?');
    const res = await put(`/_matrix/app/v1/transactions/old-${Date.now()}`, { events: [old, historical, fresh] });
    expect(res.status).toBe(200);
    for (const e of [old, historical]) {
      const row = await until(`${e.event_id} to be processed`, async () => {
        const [r] = await db().select().from(appserviceEvents).where(eq(appserviceEvents.eventId, e.event_id));
        return r && r.status !== 'pending' ? r : null;
      });
      expect(row.status).toBe('skipped');
    }
    await until('the fresh question to be answered', async () => {
      const [q] = await db().select().from(messages).where(eq(messages.externalId, fresh.event_id));
      return q ? (await db().select().from(messages).where(eq(messages.replyToId, q.id))).length > 0 : false;
    });
    expect(await storedCopies(old.event_id)).toBe(0);
    expect(await storedCopies(historical.event_id)).toBe(0);
    expect(totalChats() - chats).toBe(1);
  });

  it('a body that is not JSON, not a transaction, or too large gets the spec error and changes nothing', async () => {
    const notJson = await put('/_matrix/app/v1/transactions/nj-1', null, w.registration.hs_token, '{not json');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ errcode: 'M_NOT_JSON' });
    const noEvents = await put('/_matrix/app/v1/transactions/ne-1', { nothing: true });
    expect(noEvents.status).toBe(400);
    expect(await noEvents.json()).toMatchObject({ errcode: 'M_BAD_JSON' });
    const huge = await put('/_matrix/app/v1/transactions/big-1', { events: [textEvent('x'.repeat(w.mosaic.config.matrix.maxBodyBytes))] });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ errcode: 'M_TOO_LARGE' });
    for (const txnId of ['nj-1', 'ne-1', 'big-1']) expect(await db().select().from(appserviceTransactions).where(eq(appserviceTransactions.txnId, txnId))).toHaveLength(0);
  });
});
