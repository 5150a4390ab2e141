/**
 * A Matrix transaction is stored before its 200 in a fixed number of round
 * trips, whatever the number of its events (counted, on PostgreSQL and PGlite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { EventJournal, type IncomingEvent } from '../../appservice/transport/event-journal.ts';
import { createPgDatabase, createPgliteDatabase } from '../support/databases.ts';
import { measure } from '../support/command-count.ts';

const events = (run: string, n: number): IncomingEvent[] =>
  Array.from({ length: n }, (_, i) => ({ event_id: `$${run}-${i}`, room_id: `!r${i % 5}:x.local`, type: 'm.room.message', sender: '@a:x.local', origin_server_ts: 1_700_000_000_000 + i, content: { msgtype: 'm.text', body: `m${i}` } }));

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`storing a transaction on ${kind}`, () => {
    let database: Database;
    beforeAll(async () => {
      database = kind === 'postgres' ? (await createPgDatabase()).database : await createPgliteDatabase();
    }, 180_000);
    afterAll(async () => database?.close());

    it('takes four round trips for 100 events, keeps their order, and stores a repeat once', async () => {
      const journal = new EventJournal(database.db);
      const batch = events('t1', 100);
      let fresh: string[] = [];
      const m = await measure(database, async () => (fresh = await journal.record('txn1', 'hash1', [...batch, batch[3]!])));
      expect(m.sql).toBe(4);
      expect(fresh).toEqual(batch.map((e) => e.event_id));
      // The same events in another transaction are not new.
      expect(await journal.record('txn2', 'hash2', batch.slice(0, 10))).toEqual([]);
      const claimable = await journal.claimable(200);
      expect(claimable.map((e) => e.eventId)).toEqual(batch.map((e) => e.event_id));
      expect(claimable.some((e) => e.command)).toBe(false);
    });

    it('claims 100 events in one statement and records their outcomes in one; a !link token is gone once finished', async () => {
      const journal = new EventJournal(database.db);
      const batch = events('t3', 100);
      batch[7]!.content = { msgtype: 'm.text', body: '!link 0123456789abcdef' };
      batch[8]!.content = { msgtype: 'm.text', body: '  /new' };
      await journal.record('txn3', 'hash3', batch);
      // Commands are told apart by the claim query (they order the person's later events).
      expect((await journal.claimable(200, 'txn3')).filter((e) => e.command).map((e) => e.eventId)).toEqual([batch[7]!.event_id, batch[8]!.event_id]);
      const ids = batch.map((e) => e.event_id);
      let claimed: Awaited<ReturnType<EventJournal['claimMany']>> = [];
      const c = await measure(database, async () => (claimed = await journal.claimMany(ids)));
      expect(c.sql).toBe(1);
      expect(claimed.map((r) => r.eventId).sort()).toEqual([...ids].sort());
      expect(claimed.every((r) => r.attempts === 1)).toBe(true);
      // Claimed: nobody else can take them, nor claim them again.
      expect((await journal.claimable(200, 'txn3')).length).toBe(0);
      expect(await journal.claimMany(ids)).toEqual([]);
      const f = await measure(database, () => journal.finishMany(ids.map((eventId, i) => (i % 2 ? { eventId, status: 'done' as const } : { eventId, status: 'skipped' as const, error: `reason ${i}` }))));
      expect(f.sql).toBe(1);
      const rows = await Promise.all([ids[0]!, ids[1]!, ids[7]!].map((id) => journal.get(id)));
      expect(rows.map((r) => [r?.status, r?.error])).toEqual([['skipped', 'reason 0'], ['done', null], ['done', null]]);
      expect((rows[2]!.payload.content as { body: string }).body).toBe('!link (token removed once processed)');
    });
  });
}
