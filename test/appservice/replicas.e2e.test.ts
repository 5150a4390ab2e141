/**
 * Two gateways with the matrix plugin on one PostgreSQL, one Valkey and one
 * homeserver registration. An answer that was stored but never reached its
 * room is picked up by both replicas' recovery sweeps at the same moment:
 * the room must show it once, sent by one replica.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { messages } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { answerIn, ASSISTANT_ID, expectNoDuplicates, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixReplica, type MatrixWorld } from './support.ts';

const GRACE_MS = 200;
let w: MatrixWorld;
let b: MatrixReplica;
let alice: Human & { mosaicUserId: string };
const agent = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  // The sweeps run only when the test asks (and once at start, when there is nothing to deliver).
  w = await startMatrixWorld({ recovery: { intervalMs: 3_600_000, graceMs: GRACE_MS } });
  b = await w.replica();
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const logged = (spy: { mock: { calls: unknown[][] } }, event: string) => spy.mock.calls.map((c) => c[0] as Record<string, unknown>).filter((o) => o?.event === event);

describe('two replicas recovering the same undelivered answer', () => {
  it('both sweeps pick it up at once; the room shows it once, sent by one replica', async () => {
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID);
    const gateways = [w.mosaic, b.mosaic];
    const errors = gateways.map((m) => vi.spyOn(m.core.logger, 'error'));
    const infos = gateways.map((m) => vi.spyOn(m.core.logger, 'info'));
    const outage = w.hs.sendFaults.refuse({ status: 503, senders: (u) => u === agent });
    let slow: ReturnType<typeof w.hs.sendFaults.refuse> | null = null;
    try {
      const q = await say(alice, roomId, 'Which river flows through Vienna?');
      const question = await until('the question to be stored', async () => (await db().select().from(messages).where(eq(messages.externalId, q)))[0]);
      const reply = await until('the answer to be stored', async () => (await db().select().from(messages).where(and(eq(messages.replyToId, question.id), eq(messages.role, 'assistant'))))[0]);
      // The live send (on whichever replica won it) gave up and released its claim: only the sweeps are left.
      await until('the live send to give up', () => errors.some((spy) => logged(spy, 'outbound.failed').some((o) => o.conversationId === reply.conversationId)));
      expect((await db().select().from(messages).where(eq(messages.id, reply.id)))[0]!.metadata.matrix).toBeUndefined();

      outage.lift();
      // The first send after the outage is held back once (a 429), so the other sweep has certainly read the
      // answer as undelivered before anything is recorded: the two really race.
      slow = w.hs.sendFaults.refuse({ count: 1, status: 429, retryAfterMs: 300, senders: (u) => u === agent });
      await until('the answer to be past the grace period', () => Date.now() - reply.createdAt.getTime() > GRACE_MS + 50);
      const handed = await Promise.all([w.adapter().sweepUndelivered(), b.adapter().sweepUndelivered()]);
      expect(handed).toEqual([1, 1]);

      await waitForAnswer(alice, roomId, agent, q);
      await w.hs.flushPushes();
      const events = (await alice.history(roomId)).filter((e) => e.type === 'm.room.message');
      const after = events.slice(events.findIndex((e) => e.event_id === q) + 1);
      expectNoDuplicates(after);
      const answers = answerIn(after, agent);
      expect(answers).toHaveLength(1);
      expect(answers[0]!.text).toContain(reply.content);
      expect(slow.refused).toHaveLength(1);
      // One replica sent it; the other found it claimed.
      const sent = infos.flatMap((spy) => logged(spy, 'answer.sent').filter((o) => o.replyId === reply.id));
      expect(sent).toHaveLength(1);
      const row = await until('the delivery to be recorded', async () => {
        const [r] = await db().select().from(messages).where(eq(messages.id, reply.id));
        return r?.metadata.matrix ? r : null;
      });
      expect(row.metadata.matrix).toEqual({ roomId, eventId: answers[0]!.original.event_id, state: 'delivered' });
    } finally {
      outage.lift();
      slow?.lift();
      for (const spy of [...errors, ...infos]) spy.mockRestore();
    }
  });
});
