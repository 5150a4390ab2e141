/**
 * One conversation's messages commit in seq order (PostgreSQL): an append
 * waits while another append to the same conversation is open, so nobody
 * can read seq n+1 before seq n exists — what resume by afterSeq and the
 * live feeds' gap detection rely on. Each append also says which message
 * came before it (prevSeq).
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import { ConversationStore } from '../../src/conversations/conversation-store.ts';
import { createPgDatabase } from '../support/databases.ts';
import { waitFor } from './support.ts';

let database: Database;
let url: string;
let alice: Actor;

beforeAll(async () => {
  ({ database, url } = await createPgDatabase());
  const accounts = new AccountService(database.db);
  await accounts.createUser({ username: 'alice' });
  alice = actorOf((await accounts.users.findByUsername('alice'))!);
});
afterAll(async () => database?.close());

it('an append waits for an open append to the same conversation, and gets the seq after it', async () => {
  const store = new ConversationStore(database.db);
  const conv = await store.create(alice);
  const other = await store.create(alice);
  const first = await store.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'one', channel: 'api' });
  expect(first.message.prevSeq).toBeNull();

  // Another writer in the middle of its append: the row lock taken, its seq drawn, not committed.
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  try {
    await writer.query('begin');
    await writer.query('select id from conversations where id = $1 for update', [conv.id]);
    const held = await writer.query<{ seq: string }>(
      `insert into messages (conversation_id, owner_id, role, sender_id, sender_type, content, channel) values ($1, $2::uuid, 'user', $2::text, 'user', 'two', 'api') returning seq`,
      [conv.id, alice.userId],
    );
    const heldSeq = Number(held.rows[0]!.seq);

    let done = false;
    const third = store.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'three', channel: 'api' }).then((r) => ((done = true), r));
    // Another conversation is not held up.
    expect((await store.append(alice, other.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'elsewhere', channel: 'api' })).created).toBe(true);
    await waitFor('the append to wait on the lock', async () => {
      const { rows } = await writer.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
      return rows[0]!.n === 1;
    });
    expect(done).toBe(false);
    await writer.query('commit');
    const appended = await third;
    expect(appended.message.seq).toBeGreaterThan(heldSeq);
    expect(appended.message.prevSeq).toBe(heldSeq);
  } finally {
    await writer.end();
  }
  const seqs = (await store.allMessages(alice, conv.id)).map((m) => m.content);
  expect(seqs).toEqual(['one', 'two', 'three']);
  expect(await store.lastSeq(alice, conv.id)).toBe((await store.allMessages(alice, conv.id)).at(-1)!.seq);
  const batch = await store.appendAll(alice, conv.id, [
    { role: 'assistant', senderId: 'mosaic', senderType: 'agent', content: 'a', channel: 'mosaic' },
    { role: 'assistant', senderId: 'mosaic', senderType: 'agent', content: 'b', channel: 'mosaic' },
  ]);
  expect(batch[1]!.prevSeq).toBe(batch[0]!.seq);
});
