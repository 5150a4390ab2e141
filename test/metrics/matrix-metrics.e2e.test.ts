/**
 * The Matrix channel's metrics after real turns: a person on the test
 * homeserver talks to an agent, the homeserver pushes transactions, Mosaic
 * answers through the Client-Server API; then the metrics listener is read.
 * Event types a client chooses never become label values.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Human } from '../homeserver/index.ts';
import { CODER_ID, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from '../appservice/support.ts';
import { scrape, sumOf, type Series } from '../support/metrics.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string; token: string };
let roomId: string;
const coder = ghostOf(CODER_ID);

beforeAll(async () => {
  w = await startMatrixWorld({ homeserver: { rateLimit: false } });
  alice = await w.linkedHuman('alice');
  roomId = await inviteAgent(w, alice, CODER_ID);
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const url = () => w.mosaic.running.metricsUrl!;
const grew = (before: Series[], after: Series[], name: string, labels: Record<string, string> = {}) => sumOf(after, name, labels) - sumOf(before, name, labels);

describe('Matrix metrics', () => {
  it('a turn shows the transactions and events received, their processing, and the sends', async () => {
    const before = await scrape(url());
    const asked = await say(alice, roomId, 'How do I reverse a list in Python? Show the code.');
    await waitForAnswer(alice, roomId, coder, asked);
    // The answer is recorded as its job ends, a moment after the room shows it.
    const after = await until('the message event to be processed and its answer recorded', async () => {
      const s = await scrape(url());
      return grew(before, s, 'mosaic_matrix_events_processed_total', { outcome: 'done' }) >= 1 && grew(before, s, 'mosaic_answer_seconds_count') >= 1 ? s : null;
    });
    expect(grew(before, after, 'mosaic_matrix_transactions_received_total', { outcome: 'stored' })).toBeGreaterThanOrEqual(1);
    expect(grew(before, after, 'mosaic_matrix_transaction_seconds_count')).toBe(grew(before, after, 'mosaic_matrix_transactions_received_total', { outcome: 'stored' }) + grew(before, after, 'mosaic_matrix_transactions_received_total', { outcome: 'repeat' }));
    expect(grew(before, after, 'mosaic_matrix_events_received_total', { type: 'message' })).toBeGreaterThanOrEqual(1);
    expect(grew(before, after, 'mosaic_matrix_event_processing_seconds_count')).toBe(grew(before, after, 'mosaic_matrix_events_processed_total'));
    // The answer went out as a message and its streamed edits (m.room.message too), as the agent's ghost.
    expect(grew(before, after, 'mosaic_matrix_sends_total', { kind: 'message' })).toBeGreaterThanOrEqual(2);
    expect(grew(before, after, 'mosaic_matrix_send_failures_total')).toBe(0);
    // The answer also shows in the core's series.
    expect(grew(before, after, 'mosaic_answer_seconds_count', { outcome: 'answered' })).toBe(1);
  });

  it('a send the homeserver refuses is counted by errcode, as a failure and as a refusal with its fallback', async () => {
    const before = await scrape(url());
    const refusal = w.hs.sendFaults.refuse({ status: 403, errcode: 'M_FORBIDDEN', senders: (u) => u === coder, when: (c) => c['mosaic.routing'] !== undefined });
    try {
      await say(alice, roomId, 'What does a Python decorator do? Show the code.');
      await until('the refused final edit and its fallback', async () => refusal.refused.length >= 1 && grew(before, await scrape(url()), 'mosaic_matrix_sends_refused_total') >= 1);
    } finally {
      refusal.lift();
    }
    const after = await scrape(url());
    expect(grew(before, after, 'mosaic_matrix_send_failures_total', { kind: 'message', errcode: 'M_FORBIDDEN' })).toBeGreaterThanOrEqual(1);
    expect(grew(before, after, 'mosaic_matrix_sends_refused_total', { errcode: 'M_FORBIDDEN' })).toBeGreaterThanOrEqual(1);
  });

  it('the homeserver rate-limiting a send is counted as a retry by errcode', async () => {
    const before = await scrape(url());
    const limit = w.hs.sendFaults.refuse({ count: 1, status: 429, retryAfterMs: 20, senders: (u) => u === coder });
    try {
      const asked = await say(alice, roomId, 'Show me a Python list comprehension in code.');
      await waitForAnswer(alice, roomId, coder, asked);
    } finally {
      limit.lift();
    }
    expect(limit.refused).toHaveLength(1);
    expect(grew(before, await scrape(url()), 'mosaic_matrix_client_retries_total', { errcode: 'M_LIMIT_EXCEEDED' })).toBe(1);
  });

  it('event types and state types a client makes up add no series', async () => {
    const junk = () => `com.example.${Math.random().toString(36).slice(2)}`;
    const round = async () => {
      const before = await scrape(url());
      for (let i = 0; i < 3; i++) {
        await alice.client.sendEvent(roomId, junk() as never, { body: 'x' } as never);
        await alice.client.sendStateEvent(roomId, junk() as never, { v: i } as never, junk());
      }
      // Every event of the round has been handled before the next round reads.
      await until('the round to be processed', async () => grew(before, await scrape(url()), 'mosaic_matrix_events_processed_total') >= 6);
    };
    const series = async () => (await scrape(url())).filter((s) => s.name.startsWith('mosaic_matrix_')).map((s) => `${s.name}${JSON.stringify(s.labels)}`);
    await round();
    const first = await series();
    await round();
    await round();
    const later = await series();
    expect(later.filter((s) => !first.includes(s))).toEqual([]);
    expect(later.join('\n')).not.toContain('com.example');
    expect(later.join('\n')).toContain('"type":"other"');
    expect(later.join('\n')).toContain('"type":"state"');
  });
});
