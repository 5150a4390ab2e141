/**
 * What a real homeserver (Synapse, Conduit) demands of the outbound side,
 * on the strict test homeserver: a streamed answer with its routing reaches
 * its final edit (canonical JSON); a person who writes at once in a new
 * `!new` room is answered; an answer longer than an event arrives whole and
 * in order; a send refused for good is not retried but delivered as plain
 * text and recorded.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentLogs, messages } from '../../src/db/schema.ts';
import { routingLine, type RoutingSummary } from '../../appservice/translation/formatting.ts';
import type { Human, SyncedEvent } from '../homeserver/index.ts';
import { answerIn, ASSISTANT_ID, BOT, expectNoDuplicates, ghostOf, inviteAgent, relType, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string };
const agent = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  // Alice writes 20 messages in a row below: the homeserver's rate limit for humans would only slow the test (Mosaic's users are exempt anyway).
  w = await startMatrixWorld({ recovery: { intervalMs: 60_000, graceMs: 100 }, homeserver: { rateLimit: false } });
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => {
  for (const sim of Object.values(w.mosaic.simulators)) sim.setDefault({});
  w.hs.assertNoSpecViolations();
});
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;

/** Every simulator answers `text`, streamed in chunks, whichever model routing picks. */
function answerWith(text: string, chunkSize: number): void {
  for (const sim of Object.values(w.mosaic.simulators)) sim.setDefault({ text, chunkSize, frameDelayMs: 15 });
}

async function storedAnswerTo(eventId: string) {
  const question = await until('the question to be stored', async () => (await db().select().from(messages).where(eq(messages.externalId, eventId)))[0]);
  return until('the answer to be stored', async () => (await db().select().from(messages).where(and(eq(messages.replyToId, question.id), eq(messages.role, 'assistant'))))[0]);
}

/** The stored answer once its delivery is recorded. */
async function deliveredAnswer(id: string) {
  return until('the delivery to be recorded', async () => {
    const [r] = await db().select().from(messages).where(eq(messages.id, id));
    return r?.metadata.matrix ? r : null;
  });
}

async function eventsAfter(human: Human, room: string, eventId: string): Promise<SyncedEvent[]> {
  const events = (await human.history(room, 500)).filter((e) => e.type === 'm.room.message');
  return events.slice(events.findIndex((e) => e.event_id === eventId) + 1);
}

/** The messages an answer took, in order, each with the text it ended with. */
function answerParts(events: SyncedEvent[], sender: string): Array<{ event: SyncedEvent; content: Record<string, unknown> }> {
  const originals = events.filter((e) => e.sender === sender && relType(e) !== 'm.replace');
  return originals.map((event) => {
    const last = events.filter((e) => relType(e) === 'm.replace' && (e.content['m.relates_to'] as { event_id: string }).event_id === event.event_id).at(-1);
    return { event, content: (last ? last.content['m.new_content'] : event.content) as Record<string, unknown> };
  });
}

describe('canonical JSON', () => {
  it('a streamed answer reaches its final edit with its routing: the text is the answer plus the routing line, confidence a decimal string', async () => {
    const room = await inviteAgent(w, alice, ASSISTANT_ID);
    const text = 'Paris is the capital of France. It lies on the Seine, and its oldest bridge is the Pont Neuf.';
    answerWith(text, 12);
    const q = await say(alice, room, 'What is the capital of France?');
    const final = await waitForAnswer(alice, room, agent, q);
    const stored = await storedAnswerTo(q);
    const confidence = (stored.routing as { classification: { confidence: number } }).classification.confidence;
    expect(Number.isInteger(confidence)).toBe(false);

    const answers = answerIn(await eventsAfter(alice, room, q), agent);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.edits.length).toBeGreaterThanOrEqual(1);
    expect(answers[0]!.text).toBe(text + routingLine(stored.routing as RoutingSummary, stored.model)!.plain);
    const routing = answers[0]!.finalContent['mosaic.routing'] as { provider: string; model: string; classification: { confidence: unknown } };
    expect(routing).toMatchObject({ provider: stored.provider, model: stored.model, classification: { confidence: String(confidence) } });
    expect(final.content['mosaic.routing']).toEqual(routing);
    expect((await deliveredAnswer(stored.id)).metadata.matrix).toEqual({ roomId: room, eventId: answers[0]!.original.event_id, state: 'delivered' });
  });
});

describe('the first message in a new room', () => {
  it('a person who writes at once after joining a `!new` room is answered, in 10 rooms out of 10', async () => {
    const { room_id: dm } = await alice.client.createRoom({ invite: [BOT], is_direct: true } as never);
    await alice.waitForEvent(dm, (e) => e.sender === BOT && e.content.msgtype === 'm.notice', { timeoutMs: 15_000 });
    // A busy homeserver: the ghost's first join of each room is answered late (the join itself happens at once).
    const delayed = new Set<string>();
    const slow = w.hs.slowAnswers.add((method, path, userId) => {
      if (method !== 'POST' || !/\/join\//.test(path) || userId !== agent || delayed.has(path)) return false;
      delayed.add(path);
      return true;
    }, 300);
    try {
      const seen = new Set<string>();
      for (let i = 1; i <= 10; i++) {
        const cmd = await say(alice, dm, `!new Quick room ${i}`);
        const room = await alice.waitForInvite((r) => r !== dm && !seen.has(r), 15_000);
        seen.add(room);
        await alice.client.joinRoom(room);
        const { event_id: q } = await alice.client.sendTextMessage(room, `Say hello to room ${i}.`);
        await waitForAnswer(alice, room, agent, undefined).catch((err: unknown) => {
          throw new Error(`room ${i} (after ${cmd}) was not answered: ${(err as Error).message}`);
        });
        const [question] = await db().select().from(messages).where(eq(messages.externalId, q));
        expect(question, `room ${i}: the message is stored`).toBeDefined();
      }
    } finally {
      slow.lift();
    }
  }, 120_000);
});

describe('an answer longer than one event', () => {
  it('arrives complete and in order, in several messages, each within the limit; the routing is on the last', async () => {
    const room = await inviteAgent(w, alice, ASSISTANT_ID);
    const paragraphs: string[] = [];
    for (let i = 0; paragraphs.join('\n\n').length < 30_000; i++) paragraphs.push(`Paragraph ${i}: les élèves étudient l'histoire du monde 🌍 — ${'context '.repeat(20)}`);
    const code = Array.from({ length: 900 }, (_, i) => `const value${i} = compute(${i}, "<tag>") && other < ${i};`).join('\n');
    const text = `${paragraphs.join('\n\n')}\n\n\`\`\`ts\n${code}\n\`\`\`\n\nAnd that is all.`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(65_536);
    answerWith(text, 2_500);
    const q = await say(alice, room, 'Tell me everything about history, with code.');
    await waitForAnswer(alice, room, agent, q);
    const stored = await storedAnswerTo(q);
    expect(stored.content).toBe(text);

    const events = await eventsAfter(alice, room, q);
    expectNoDuplicates(events);
    const parts = answerParts(events, agent);
    expect(parts.length).toBeGreaterThan(1);
    const line = routingLine(stored.routing as RoutingSummary, stored.model)!.plain;
    expect(parts.map((p) => String(p.content.body)).join('')).toBe(text + line);
    // Only the last part carries the routing; every part that starts inside the code block renders as code.
    expect(parts.map((p) => p.content['mosaic.routing'] !== undefined)).toEqual(parts.map((_, i) => i === parts.length - 1));
    const inCode = parts.filter((p) => !String(p.content.body).startsWith('Paragraph') && String(p.content.body).startsWith('const value'));
    for (const p of inCode) expect(String(p.content.formatted_body)).toMatch(/^<pre><code class="language-ts">/);
    const matrix = (await deliveredAnswer(stored.id)).metadata.matrix as { eventId: string; eventIds: string[]; state: string };
    expect(matrix).toMatchObject({ state: 'delivered', eventId: parts[0]!.event.event_id, eventIds: parts.map((p) => p.event.event_id) });
  }, 60_000);
});

describe('a send refused for good', () => {
  it('M_BAD_JSON: tried once, not again by the recovery sweep; the answer arrives as plain text and the refusal is recorded', async () => {
    const room = await inviteAgent(w, alice, ASSISTANT_ID);
    const text = 'The Danube flows through ten countries, more than any other river in the world.';
    answerWith(text, 16);
    // Another homeserver's opinion of Mosaic's final edit: refused, as Synapse refuses a float.
    const refusal = w.hs.sendFaults.refuse({ status: 400, errcode: 'M_BAD_JSON', senders: (u) => u === agent, when: (c) => c['mosaic.routing'] !== undefined });
    try {
      const q = await say(alice, room, 'Which river flows through the most countries?');
      const stored = await storedAnswerTo(q);
      const row = await deliveredAnswer(stored.id);
      expect(row.metadata.matrix).toMatchObject({ roomId: room, state: 'fallback', refusedWith: 'M_BAD_JSON' });
      expect(refusal.refused).toHaveLength(1);

      const answers = answerIn(await eventsAfter(alice, room, q), agent);
      expect(answers).toHaveLength(1);
      const line = routingLine(stored.routing as RoutingSummary, stored.model)!.plain;
      expect(answers[0]!.text).toBe(text + line);
      expect(answers[0]!.finalContent).toEqual({ msgtype: 'm.text', body: text + line });

      // The recovery sweep does not try it again.
      await until('the answer to be old enough for the sweep', () => Date.now() - stored.createdAt.getTime() > 200);
      expect(await w.adapter().sweepUndelivered()).toBe(0);
      expect(refusal.refused).toHaveLength(1);

      const [log] = await db().select().from(agentLogs).where(and(eq(agentLogs.source, 'matrix'), eq(agentLogs.conversationId, stored.conversationId)));
      expect(log).toMatchObject({ event: 'send.refused', level: 'error', data: { messageId: stored.id, errcode: 'M_BAD_JSON', status: 400, outcome: 'fallback' } });
      const metric = await w.mosaic.core.metrics.registry.getSingleMetric('mosaic_matrix_sends_refused_total')!.get();
      expect(metric.values.find((v) => v.labels.errcode === 'M_BAD_JSON' && v.labels.outcome === 'fallback')?.value).toBeGreaterThanOrEqual(1);
    } finally {
      refusal.lift();
    }
  });
});
