import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { openDatabase, openMemoryDatabase, sqlRows, type Database } from '../../src/db/client.ts';
import { runMigrations, readJournal, SchemaTooNewError } from '../../src/db/migrate.ts';
import { createEmptyPgDatabase } from '../support/databases.ts';

const opened: Database[] = [];
afterAll(async () => {
  for (const d of opened) await d.close();
});

async function tables(database: Database): Promise<string[]> {
  const rows = await sqlRows<{ table_name: string }>(database.db, sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`);
  return rows.map((r) => r.table_name);
}

const EXPECTED_TABLES = [
  'agent_configs', 'agent_logs', 'agent_rooms', 'api_tokens', 'appservice_events', 'appservice_transactions', 'channel_identities',
  'conversation_matrix_rooms', 'conversations', 'memories', 'messages', 'personal_spaces', 'preferences', 'provider_credentials',
  'retention_policies', 'routing_rules', 'session_metrics', 'sessions', 'shared_room_invites', 'team_members', 'team_spaces', 'teams', 'usage_records',
  'user_disabled_rules', 'users',
];

describe.each([
  ['PostgreSQL', async () => openDatabase({ url: await createEmptyPgDatabase(), dataDir: '' })],
  ['PGlite', () => openMemoryDatabase()],
])('migrations on %s', (_name, open) => {
  it('apply from nothing, twice in a row, creating the whole schema', async () => {
    const database = await open();
    opened.push(database);
    expect(await tables(database)).toEqual([]);
    const first = await runMigrations(database);
    expect(first.applied).toBe(readJournal().length);
    const second = await runMigrations(database);
    expect(second.applied).toBe(0);
    expect(second.total).toBe(first.total);
    expect(await tables(database)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
    // PGlite starts and migrates in-process: under a loaded machine that alone can take half a minute.
  }, 120_000);

  it('refuse a database whose schema is newer than the code', async () => {
    const database = await open();
    opened.push(database);
    await runMigrations(database);
    const future = Math.max(...readJournal().map((e) => e.when)) + 86_400_000;
    await database.db.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-mosaic', ${future})`);
    await expect(runMigrations(database)).rejects.toBeInstanceOf(SchemaTooNewError);
    await expect(runMigrations(database)).rejects.toThrow(/newer than this Mosaic/);
  }, 120_000);

  it('full-text search works on messages', async () => {
    const database = await open();
    opened.push(database);
    await runMigrations(database);
    const [user] = await sqlRows<{ id: string }>(database.db, sql`insert into users (username) values ('fts') returning id`);
    const [conv] = await sqlRows<{ id: string }>(database.db, sql`insert into conversations (owner_id) values (${user!.id}) returning id`);
    await database.db.execute(sql`insert into messages (conversation_id, owner_id, role, sender_id, sender_type, content, channel) values (${conv!.id}, ${user!.id}, 'user', 'u', 'user', 'the quick brown fox jumps', 'test')`);
    const hits = await sqlRows<{ content: string }>(database.db, sql`select content from messages where search_vector @@ plainto_tsquery('simple', 'brown fox')`);
    expect(hits.map((h) => h.content)).toEqual(['the quick brown fox jumps']);
  }, 120_000);
});
