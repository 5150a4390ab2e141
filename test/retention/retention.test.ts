/**
 * Retention without a homeserver (#20): the policy layers through the admin
 * API, the CLI and a person's own limit; the purge deleting back-dated
 * messages (search and summary with them) with its counts in the job
 * detail; deleting a conversation removing it for good; memories kept by
 * retention and deleted by their owner. Matrix's side: test/appservice/retention.e2e.test.ts.
 * Everything runs on both databases: PostgreSQL and the embedded PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { eq, sql } from 'drizzle-orm';
import { conversations, messages } from '../../src/db/schema.ts';
import type { Actor } from '../../src/identity/actor.ts';
import type { ChannelEraser } from '../../src/retention/channel-erasers.ts';
import { registerRetentionCommands } from '../../src/cli/retention-commands.ts';
import { cliHelpers } from '../support/cli-helpers.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { until } from '../appservice/support.ts';
import { runPurge as runPurgeOf } from '../appservice/retention-support.ts';

for (const database of ['postgres', 'pglite'] as const) {
  describe(`retention on ${database}`, () => {
    let t: TestMosaic;
    let alice: { token: string; actor: Actor };

    beforeAll(async () => {
      t = await startTestMosaic({ database, config: { health: { probeIntervalSeconds: 86_400 } } });
      expect(t.core.database.kind).toBe(database);
      alice = await t.createUser('alice');
    }, 120_000);
    afterAll(async () => t?.stop());

    const db = () => t.core.database.db;
    const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => t.api<T>(t.adminToken, method, path, body);
    const as = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => t.api<T>(alice.token, method, path, body);

    async function cli(...args: string[]): Promise<string[]> {
      const out: string[] = [];
      const program = new Command('mosaic').exitOverride();
      registerRetentionCommands(program, cliHelpers(t.config, t.core.database), (line) => void out.push(line));
      await program.parseAsync(['node', 'mosaic', 'retention', ...args]);
      return out;
    }

    const runPurge = () => runPurgeOf(t);

    type KindView = { kind: string; days: number | null; source: string; configured: number | null };

    describe('policies', () => {
      it('defaults per room kind come from config; admins override a kind and a conversation, and reset them', async () => {
        const view = await admin<{ kinds: KindView[]; conversations: unknown[] }>('GET', '/api/admin/retention');
        expect(view.body.kinds).toEqual([
          { kind: 'personal', days: 365, source: 'config', configured: 365 },
          { kind: 'team', days: 730, source: 'config', configured: 730 },
          { kind: 'agent', days: 90, source: 'config', configured: 90 },
          { kind: 'system', days: 1825, source: 'config', configured: 1825 },
        ]);
        const forever = await admin<{ kinds: KindView[] }>('PUT', '/api/admin/retention', { scope: 'kind', kind: 'team', days: null });
        expect(forever.body.kinds.find((k) => k.kind === 'team')).toEqual({ kind: 'team', days: null, source: 'admin-kind', configured: 730 });
        const back = await admin<{ kinds: KindView[] }>('PUT', '/api/admin/retention', { scope: 'kind', kind: 'team', days: 'default' });
        expect(back.body.kinds.find((k) => k.kind === 'team')).toMatchObject({ days: 730, source: 'config' });

        const conv = (await as<{ id: string }>('POST', '/api/conversations', { title: 'Kept a week' })).body.id;
        const set = await admin('PUT', '/api/admin/retention', { scope: 'conversation', conversationId: conv, days: 7 });
        expect(set.body).toMatchObject({ conversationId: conv, kind: 'personal', days: 7, source: 'admin-conversation', adminDays: 7, ownerDays: null });
        expect((await admin<{ conversations: Array<{ conversationId: string; days: number }> }>('GET', '/api/admin/retention')).body.conversations).toContainEqual(expect.objectContaining({ conversationId: conv, days: 7 }));
        const reset = await admin('PUT', '/api/admin/retention', { scope: 'conversation', conversationId: conv, days: 'default' });
        expect(reset.body).toMatchObject({ days: 365, source: 'config' });
      });

      it('a person can only shorten the retention of their own conversation', async () => {
        const conv = (await as<{ id: string }>('POST', '/api/conversations', { title: 'Mine' })).body.id;
        const shorter = await as<{ title: string; retention: Record<string, unknown> }>('PATCH', `/api/conversations/${conv}`, { retentionDays: 30, title: 'Mine, a month' });
        expect(shorter.status).toBe(200);
        expect(shorter.body).toMatchObject({ title: 'Mine, a month', retention: { days: 30, source: 'owner', ownerDays: 30 } });
        // Longer than the policy: kept, but the policy's year still applies.
        const longer = await as<{ retention: Record<string, unknown> }>('PATCH', `/api/conversations/${conv}`, { retentionDays: 5000 });
        expect(longer.body.retention).toMatchObject({ days: 365, source: 'config', ownerDays: 5000 });
        const cleared = await as<{ retention: Record<string, unknown> }>('PATCH', `/api/conversations/${conv}`, { retentionDays: null });
        expect(cleared.body.retention).toMatchObject({ days: 365, ownerDays: null });
        expect((await as<{ retention: unknown }>('GET', `/api/conversations/${conv}`)).body.retention).toMatchObject({ kind: 'personal', days: 365 });
      });

      it('a conversation shared with a team is of the team kind', async () => {
        const conv = (await as<{ id: string }>('POST', '/api/conversations', { title: 'For the team' })).body.id;
        const team = (await as<{ id: string }>('POST', '/api/teams', { slug: 'retention-team' })).body.id;
        const shared = await as('POST', `/api/conversations/${conv}/share`, { teamId: team });
        expect(shared.status, JSON.stringify(shared.body)).toBeLessThan(300);
        expect((await admin('GET', `/api/admin/retention?conversationId=${conv}`)).body).toMatchObject({ kind: 'team', days: 730, source: 'config' });
      });

      it('`mosaic retention` shows and sets the same policies', async () => {
        expect(await cli('set', 'agent', '30')).toEqual(['agent: 30 days']);
        const shown = (await cli('show')).join('\n');
        expect(shown).toMatch(/^agent\t30 days\t\(admin; config says 90 days\)$/m);
        expect(shown).toMatch(/^personal\t365 days\t\(config\)$/m);
        expect(await cli('set', 'agent', 'default')).toEqual(['agent: the configured default']);
        await expect(cli('set', 'audit', '30')).rejects.toThrow(/unknown room kind "audit": expected one of personal, team, agent, system/);
        await expect(cli('set', 'agent', '0')).rejects.toThrow(/expected a number of days/);
        const conv = (await as<{ id: string }>('POST', '/api/conversations', { title: 'CLI' })).body.id;
        expect(await cli('set-conversation', conv, 'forever')).toEqual([`${conv}: forever (admin-conversation)`]);
        expect(JSON.parse((await cli('show', '--conversation', conv, '--json')).join('\n'))).toMatchObject({ days: null, source: 'admin-conversation' });
      });
    });

    describe('the purge without a homeserver', () => {
      it('deletes back-dated messages (search and summary with them), keeps newer ones, shows counts, and a second run changes nothing', async () => {
        const conv = (await as<{ id: string }>('POST', '/api/conversations', { title: 'Old and new' })).body.id;
        const store = t.service.stores.conversations;
        await store.appendAll(alice.actor, conv, [
          { role: 'user', senderId: alice.actor.userId, senderType: 'user', content: 'the aardvark secret from long ago', channel: 'api' },
          { role: 'assistant', senderId: 'assistant', senderType: 'agent', content: 'noted, the aardvark secret', channel: 'api' },
        ]);
        await db().execute(sql`update messages set created_at = now() - interval '3 days' where conversation_id = ${conv}`);
        const old = await db().select().from(messages).where(eq(messages.conversationId, conv));
        await db().update(conversations).set({ summary: 'An aardvark secret was shared.', summarizedThroughSeq: Math.max(...old.map((m) => m.seq)) }).where(eq(conversations.id, conv));
        await store.append(alice.actor, conv, { role: 'user', senderId: alice.actor.userId, senderType: 'user', content: 'a fresh armadillo note', channel: 'api' });
        expect((await as('PATCH', `/api/conversations/${conv}`, { retentionDays: 1 })).status).toBe(200);

        const first = await runPurge();
        expect(first.state).toBe('completed');
        expect(first.returnValue).toMatchObject({ messagesDeleted: 2, messagesFailed: 0, channelEvents: 0, summariesDropped: 1 });
        expect(first.progress).toMatchObject({ messagesDeleted: 2 });
        const left = await as<{ items: Array<{ content: string }> }>('GET', `/api/conversations/${conv}/messages`);
        expect(left.body.items.map((m) => m.content)).toEqual(['a fresh armadillo note']);
        expect((await as<{ hits: unknown[] }>('GET', '/api/conversations/search?q=aardvark')).body.hits).toEqual([]);
        expect((await as<{ hits: unknown[] }>('GET', '/api/conversations/search?q=armadillo')).body.hits).toHaveLength(1);
        expect((await as<{ summary: string | null }>('GET', `/api/conversations/${conv}`)).body.summary).toBeNull();

        const second = await runPurge();
        expect(second.returnValue).toMatchObject({ messagesDeleted: 0, messagesFailed: 0, summariesDropped: 0 });
      });
    });

    describe('lockstep with a channel, without a homeserver', () => {
      it('a message the channel refused stays, marked; the next run finishes it; channel-only rooms are counted', async () => {
        const conv = (await as<{ id: string }>('POST', '/api/conversations', { title: 'Refused once' })).body.id;
        const store = t.service.stores.conversations;
        await store.appendAll(alice.actor, conv, [
          { role: 'user', senderId: alice.actor.userId, senderType: 'user', content: 'the refused pangolin', channel: 'api' },
          { role: 'assistant', senderId: 'assistant', senderType: 'agent', content: 'the accepted pangolin', channel: 'api' },
        ]);
        await db().execute(sql`update messages set created_at = now() - interval '3 days' where conversation_id = ${conv}`);
        const [refusedRow, acceptedRow] = (await db().select().from(messages).where(eq(messages.conversationId, conv))).sort((x, y) => x.seq - y.seq);
        expect((await as('PATCH', `/api/conversations/${conv}`, { retentionDays: 1 })).status).toBe(200);

        // A channel that keeps copies: refuses the first message while `refusing`; owns one room of the agent kind.
        let refusing = true;
        const seen: Array<{ kind: string; before: Date }> = [];
        const eraser: ChannelEraser = {
          channel: 'test-channel',
          eraseMessages: async (batch) => new Map(batch.map((m) => [m.id, refusing && m.id === refusedRow!.id ? { ok: false as const, error: 'the far side said no' } : { ok: true as const, events: 1 }])),
          eraseConversation: async () => ({ events: 0 }),
          purgeRooms: async (kind, before, _signal, done) => {
            seen.push({ kind, before });
            await done({ roomId: '!agents:test', events: refusing ? 0 : 2, failed: refusing ? 2 : 0, ...(refusing ? { error: 'no' } : {}) });
          },
        };
        t.core.services.retention.erasers.register(eraser);
        try {
          const first = await runPurge();
          expect(first.state).toBe('completed');
          expect(first.returnValue).toMatchObject({ messagesDeleted: 1, messagesFailed: 1, channelEvents: 1, agentRoomsChecked: 1, agentRoomEvents: 0, agentRoomEventsFailed: 2 });
          // The agent kind's 90 days, from the run's start.
          expect(seen).toHaveLength(1);
          expect(seen[0]!.kind).toBe('agent');
          expect(Date.now() - seen[0]!.before.getTime()).toBeGreaterThanOrEqual(90 * 86_400_000);
          const left = await db().select().from(messages).where(eq(messages.conversationId, conv));
          expect(left.map((m) => m.id)).toEqual([refusedRow!.id]);
          expect(left[0]!.retentionFailedAt).not.toBeNull();
          expect(left[0]!.retentionError).toBe('test-channel: the far side said no');
          expect(acceptedRow).toBeDefined();

          refusing = false;
          const second = await runPurge();
          expect(second.returnValue).toMatchObject({ messagesDeleted: 1, messagesFailed: 0, agentRoomEvents: 2, agentRoomEventsFailed: 0 });
          expect(await db().select().from(messages).where(eq(messages.conversationId, conv))).toEqual([]);
        } finally {
          t.core.services.retention.erasers.unregister(eraser.channel);
        }
      });
    });

    describe('deleting and memories', () => {
      it('a deleted conversation is removed for good (no channel keeps a copy here)', async () => {
        const conv = (await as<{ id: string }>('POST', '/api/conversations', { title: 'Going' })).body.id;
        await t.service.stores.conversations.append(alice.actor, conv, { role: 'user', senderId: alice.actor.userId, senderType: 'user', content: 'bye', channel: 'api' });
        expect((await as('DELETE', `/api/conversations/${conv}`)).status).toBe(204);
        expect((await as('GET', `/api/conversations/${conv}`)).status).toBe(404);
        await until('the conversation to be erased', async () => (await db().select().from(conversations).where(eq(conversations.id, conv))).length === 0, 30_000);
        expect(await db().select().from(messages).where(eq(messages.conversationId, conv))).toEqual([]);
      });

      it('memories are listed and deleted by their owner', async () => {
        const memory = await t.core.services.memory.save(alice.actor, { content: 'Alice prefers tea.' });
        const listed = await as<{ items: Array<{ id: string; content: string }> }>('GET', '/api/memories');
        expect(listed.body.items).toContainEqual(expect.objectContaining({ id: memory.id, content: 'Alice prefers tea.' }));
        expect((await as('DELETE', `/api/memories/${memory.id}`)).status).toBe(204);
        expect((await as('GET', `/api/memories/${memory.id}`)).status).toBe(404);
        expect((await as('DELETE', `/api/memories/${memory.id}`)).status).toBe(404);
      });
    });
  });
}
