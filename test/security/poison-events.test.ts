/**
 * A poison event never stops the Matrix journal: an event whose handling
 * keeps failing is given up on after a bounded number of attempts, marked
 * failed with its reason, and the events after it are processed; a row
 * stored before intake checked `origin_server_ts` cannot break the claim
 * query. Real PostgreSQL, the real journal and processor; the handler is
 * the stand-in for "whatever keeps failing on this event".
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { appserviceEvents } from '../../src/db/schema.ts';
import { createLogger } from '../../src/logging.ts';
import { EventJournal } from '../../appservice/transport/event-journal.ts';
import { EventProcessor, MAX_EVENT_ATTEMPTS } from '../../appservice/transport/event-processor.ts';
import type { EventHandler } from '../../appservice/inbound/event-handler.ts';
import type { MatrixEvent } from '../../appservice/translation/translate-inbound.ts';
import { createPgDatabase } from '../support/databases.ts';
import { until } from '../appservice/support.ts';

let database: Database;
beforeAll(async () => {
  ({ database } = await createPgDatabase());
});
afterAll(() => database?.close());

const event = (body: string, over: Record<string, unknown> = {}) => ({
  event_id: `$p-${randomBytes(6).toString('hex')}`,
  room_id: '!room:test.local',
  type: 'm.room.message',
  sender: '@someone:test.local',
  origin_server_ts: Date.now(),
  content: { msgtype: 'm.text', body },
  ...over,
});
const row = async (id: string) => (await database.db.select().from(appserviceEvents).where(eq(appserviceEvents.eventId, id)))[0];

describe('poison events', () => {
  it('[finding 4] an event that always fails is given up after its attempts, with its reason, and later events flow', async () => {
    // Lease 0: a kept claim is free again at once, so the retries happen now instead of minutes apart.
    const journal = new EventJournal(database.db, 0);
    const handled: string[] = [];
    const handler = {
      handle: async (e: MatrixEvent) => {
        if (e.content.body === 'poison') throw Object.assign(new Error('the homeserver keeps failing this one'), { retryable: true });
        handled.push(e.event_id);
        return { status: 'done' as const };
      },
    } as unknown as EventHandler;
    const processor = new EventProcessor(journal, handler, createLogger('silent'));
    const poison = event('poison');
    const after = event('fine');
    await processor.intake('t1', 'h1', { events: [poison, after] });
    await until('the poison event to be given up', async () => {
      await processor.drain();
      return (await row(poison.event_id))?.status === 'failed';
    });
    expect(await row(poison.event_id)).toMatchObject({ status: 'failed', attempts: MAX_EVENT_ATTEMPTS + 1, error: `gave up after ${MAX_EVENT_ATTEMPTS} attempts; last error: the homeserver keeps failing this one` });
    expect(handled).toContain(after.event_id);
    expect((await row(after.event_id))?.status).toBe('done');
    await processor.stop();
  });

  it('[finding 4] a row stored with origin_server_ts 1.5 (before intake checked it) does not break the claim query', async () => {
    const journal = new EventJournal(database.db);
    const old = event('old', { origin_server_ts: 1.5 });
    const bad = event('bad', { origin_server_ts: 'yesterday' });
    for (const e of [old, bad]) await database.db.insert(appserviceEvents).values({ eventId: e.event_id, roomId: e.room_id, txnId: 'legacy', type: e.type, sender: e.sender, payload: e });
    const ids = (await journal.claimable(100)).map((e) => e.eventId);
    expect(ids).toEqual(expect.arrayContaining([old.event_id, bad.event_id]));
  });
});
