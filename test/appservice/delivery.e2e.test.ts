/**
 * The outbound side when things go wrong: the appservice ping failing
 * (degraded health), the homeserver rate-limiting sends, a model failing
 * in the middle of a streamed answer, and an answer stored but never
 * delivered before a restart (the recovery sweep).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { messages } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { answerIn, ASSISTANT_ID, CODER_ID, expectNoDuplicates, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string };
const agent = ghostOf(ASSISTANT_ID);
const coder = ghostOf(CODER_ID);

beforeAll(async () => {
  // A fast recovery sweep, so the test sees it work within the test's time.
  w = await startMatrixWorld({ recovery: { intervalMs: 300, graceMs: 200 } });
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const totalChats = () => Object.values(w.mosaic.simulators).reduce((n, s) => n + s.chatRequests().length, 0);

async function storedMessage(eventId: string) {
  return until('the message to be stored', async () => (await db().select().from(messages).where(eq(messages.externalId, eventId)))[0]);
}

async function messagesAfter(room: string, eventId: string) {
  const events = (await alice.history(room)).filter((e) => e.type === 'm.room.message');
  return events.slice(events.findIndex((e) => e.event_id === eventId) + 1);
}

describe('health', () => {
  // First in the file: the adapter caches its health for 5 s.
  it('homeserver reachable but the appservice ping failing is `degraded`, in /readyz too', async () => {
    const pusher = w.hs.pusher(w.registration.id);
    pusher.cutOff(true);
    try {
      const health = await w.adapter().health();
      expect(health.status).toBe('degraded');
      expect(health.detail).toContain('M_CONNECTION_FAILED');
      const ready = (await (await fetch(`${w.mosaic.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean; detail: { status: string } }> };
      expect(ready.checks.matrix).toMatchObject({ ok: false, detail: { status: 'degraded' } });
    } finally {
      pusher.cutOff(false);
    }
  });
});

describe('sending to the homeserver', () => {
  it('a 429 with retry_after_ms is retried after that wait, and the answer shows once', async () => {
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID);
    const warn = vi.spyOn(w.mosaic.core.logger, 'warn');
    const limit = w.hs.sendFaults.refuse({ count: 2, status: 429, retryAfterMs: 150, senders: (u) => u === agent });
    try {
      const q = await say(alice, roomId, 'Name a large moon of Jupiter.');
      await waitForAnswer(alice, roomId, agent, q);
      await w.hs.flushPushes();
      // Both refusals hit the same send (same transaction id), which then went through.
      expect(limit.refused).toHaveLength(2);
      expect(limit.refused[1]!.txnId).toBe(limit.refused[0]!.txnId);
      const events = await messagesAfter(roomId, q);
      expectNoDuplicates(events);
      const answers = answerIn(events, agent);
      expect(answers).toHaveLength(1);
      const retries = warn.mock.calls.map((c) => c[0] as { event?: string; status?: number; waitMs?: number }).filter((o) => o.event === 'cs.retry' && o.status === 429);
      expect(retries.map((r) => r.waitMs)).toEqual([150, 150]);
      // The send that succeeded came after the homeserver's wait (a lower bound, not a timing measurement).
      const firstSend = events.find((e) => e.sender === agent)!;
      expect(firstSend.origin_server_ts).toBeGreaterThanOrEqual(limit.refused[1]!.at + 150 - 2);
    } finally {
      limit.lift();
      warn.mockRestore();
    }
  });
});

describe('a model failing mid-stream', () => {
  it('finishes the streamed message with the failure notice: one message, no second answer', async () => {
    const room = await inviteAgent(w, alice, CODER_ID);
    const chats = w.mosaic.simulators.anthropic.chatRequests().length;
    // Anthropic frames for Opus 5.5, which always thinks: message_start, ping, a signed thinking block
    // (start, 6 signature pieces, stop), the text block's start, then text deltas of 10 characters.
    w.mosaic.simulators.anthropic.script({ text: 'Start with a function that walks the list and keeps a running total of the values.', chunkSize: 10, frameDelayMs: 60, midStreamError: 'server', errorAfterFrames: 15 });
    const q = await say(alice, room, 'Write a TypeScript function that sums the numbers in an array.');
    const failed = await alice.waitForEvent(room, (e) => e.sender === coder && String(e.content.body).includes('could not answer'), { timeoutMs: 20_000, after: q });
    await w.hs.flushPushes();

    const events = await messagesAfter(room, q);
    expectNoDuplicates(events);
    const fromCoder = events.filter((e) => e.sender === coder);
    const answers = answerIn(events, coder);
    expect(answers).toHaveLength(1);
    // Everything the coder sent is that one message or an edit of it: no notice, no second answer.
    expect(fromCoder.every((e) => e.event_id === answers[0]!.original.event_id || answers[0]!.edits.includes(e))).toBe(true);
    expect(answers[0]!.text).toMatch(/^Start with a function/);
    expect(answers[0]!.text).toContain('⚠️ anthropic/claude-opus-5-5 could not answer');
    expect(failed.event_id).toBe(answers[0]!.edits.at(-1)?.event_id ?? answers[0]!.original.event_id);
    // No failover after text reached the room: exactly one model call.
    expect(w.mosaic.simulators.anthropic.chatRequests().length).toBe(chats + 1);
    // The stored notice records the message it was delivered as, so the recovery sweep leaves it alone.
    const question = await storedMessage(q);
    const [notice] = await db().select().from(messages).where(and(eq(messages.replyToId, question.id), eq(messages.role, 'system')));
    expect(notice!.metadata.matrix).toEqual({ roomId: room, eventId: answers[0]!.original.event_id, state: 'delivered' });
  });
});

describe('outbound delivery recovery', () => {
  it('an answer stored while the homeserver refused sends is delivered once after a restart', async () => {
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID);
    const chats = totalChats();
    const outage = w.hs.sendFaults.refuse({ status: 503, senders: (u) => u === agent });
    const q = await say(alice, roomId, 'What is the tallest mountain in Africa?');
    const question = await storedMessage(q);
    const reply = await until('the answer to be stored', async () => (await db().select().from(messages).where(and(eq(messages.replyToId, question.id), eq(messages.role, 'assistant'))))[0]);
    await until('the homeserver to have refused the answer', () => outage.refused.length > 0);
    expect(reply.metadata.matrix).toBeUndefined();
    expect(answerIn(await messagesAfter(roomId, q), agent)).toHaveLength(0);

    // The refusal ends only once the old gateway has stopped: nothing but the restarted one can deliver it.
    w.beforeBoot = () => {
      outage.lift();
      w.beforeBoot = null;
    };
    await w.mosaic.restart();

    const delivered = await waitForAnswer(alice, roomId, agent, q);
    await w.hs.flushPushes();
    const events = await messagesAfter(roomId, q);
    expectNoDuplicates(events);
    const answers = answerIn(events, agent);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.text).toContain(reply.content);
    const row = await until('the delivery to be recorded', async () => {
      const [r] = await db().select().from(messages).where(eq(messages.id, reply.id));
      return r?.metadata.matrix ? r : null;
    });
    expect(row.metadata.matrix).toEqual({ roomId, eventId: answers[0]!.original.event_id, state: 'delivered' });
    expect([answers[0]!.original.event_id, ...answers[0]!.edits.map((e) => e.event_id)]).toContain(delivered.event_id);
    // Delivered, not answered again.
    expect(totalChats()).toBe(chats + 1);
  });
});
