/**
 * Teams through the public surfaces of a running gateway: REST (teams,
 * members, sharing), what a team member sees of a shared conversation
 * (list, messages, search, live events) before, during and after the
 * share, the `team-changed` jobs the channels follow, and `mosaic team …`
 * as a real process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/identity/actor.ts';
import type { TeamChange } from '../../src/teams/team-events.ts';
import { usageRecords } from '../../src/db/schema.ts';
import { eq } from 'drizzle-orm';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { TestSocket, waitFor } from '../live/support.ts';

let t: TestMosaic;
let alice: { token: string; actor: Actor };
let bob: { token: string; actor: Actor };
let carol: { token: string; actor: Actor };
const changes: TeamChange[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  t = await startTestMosaic();
  t.core.services.teamEvents.on(async (c) => void changes.push(c));
  alice = await t.createUser('alice');
  bob = await t.createUser('bob');
  carol = await t.createUser('carol');
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.terminate();
  await t?.stop();
});

const as = (who: { token: string }) => <T = Record<string, unknown>>(method: string, p: string, body?: unknown) => t.api<T>(who.token, method, p, body);

describe('teams over REST', () => {
  it('create, list, members with roles, rename, budget, leave, delete; owners change, members read, others get 404', async () => {
    const a = as(alice);
    const b = as(bob);
    const c = as(carol);
    const created = await a<{ id: string; slug: string; myRole: string; members: Array<{ username: string; role: string }> }>('POST', '/api/teams', { slug: 'Research', name: 'Research team', monthlyBudgetUsd: 25 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug: 'research', myRole: 'owner', members: [{ username: 'alice', role: 'owner' }] });
    const id = created.body.id;
    await waitFor('team-created job', () => changes.find((ch) => ch.change === 'team-created' && ch.teamId === id));

    expect((await b('GET', `/api/teams/${id}`)).status).toBe(404);
    expect((await a('POST', `/api/teams/${id}/members`, { username: 'bob' })).status).toBe(201);
    expect((await a('POST', `/api/teams/${id}/members`, { username: 'bob' })).status).toBe(200);
    await waitFor('member-added job', () => changes.find((ch) => ch.change === 'member-added' && ch.userId === bob.actor.userId));
    expect((await b<{ myRole: string }>('GET', '/api/teams/research')).body.myRole).toBe('member');
    expect((await b<{ items: Array<{ slug: string }> }>('GET', '/api/teams')).body.items.map((x) => x.slug)).toEqual(['research']);
    // A member reads; owners change.
    expect((await b('PATCH', `/api/teams/${id}`, { name: 'Mine' })).status).toBe(403);
    expect((await b('POST', `/api/teams/${id}/members`, { username: 'carol' })).status).toBe(403);
    expect((await a<{ name: string; monthlyBudgetUsd: number | null }>('PATCH', `/api/teams/${id}`, { name: 'Research', monthlyBudgetUsd: null })).body).toMatchObject({ name: 'Research', monthlyBudgetUsd: null });
    // Carol sees nothing of it; an admin sees every team.
    expect((await c<{ items: unknown[] }>('GET', '/api/teams?all=true')).body.items).toEqual([]);
    expect((await t.api<{ items: Array<{ id: string; myRole: null }> }>(t.adminToken, 'GET', '/api/teams?all=true')).body.items).toEqual([expect.objectContaining({ id, myRole: null })]);
    // Bob becomes an owner, Alice leaves, Bob deletes it.
    expect((await a<{ member: { role: string } }>('POST', `/api/teams/${id}/members`, { username: 'bob', role: 'owner' })).body.member.role).toBe('owner');
    expect((await a('DELETE', `/api/teams/${id}/members/alice`)).status).toBe(204);
    expect((await a('GET', `/api/teams/${id}`)).status).toBe(404);
    await waitFor('member-removed job', () => changes.find((ch) => ch.change === 'member-removed' && ch.userId === alice.actor.userId));
    expect((await b('DELETE', `/api/teams/${id}`)).status).toBe(204);
    await waitFor('team-deleted job', () => changes.find((ch) => ch.change === 'team-deleted' && ch.teamId === id));
    expect(changes.find((ch) => ch.change === 'team-deleted' && ch.teamId === id)?.memberIds).toEqual([bob.actor.userId]);
  });

  it('a shared conversation: its team members read it everywhere while it is shared, and get 404 before and after', async () => {
    const a = as(alice);
    const b = as(bob);
    const c = as(carol);
    const team = (await a<{ id: string }>('POST', '/api/teams', { slug: 'design' })).body.id;
    await a('POST', `/api/teams/${team}/members`, { username: 'bob' });
    const conv = (await a<{ id: string }>('POST', '/api/conversations', { title: 'Kiln schedule' })).body.id;
    expect((await a('POST', `/api/conversations/${conv}/messages`, { content: '!help kohlrabi' })).status).toBe(202);

    let sharedWith = team;
    const sees = async (who: typeof b, yes: boolean) => {
      const status = yes ? 200 : 404;
      expect((await who('GET', `/api/conversations/${conv}`)).status).toBe(status);
      expect((await who('GET', `/api/conversations/${conv}/messages`)).status).toBe(status);
      const listed = (await who<{ items: Array<{ id: string; owned: boolean; teamId: string | null }> }>('GET', '/api/conversations')).body.items.find((x) => x.id === conv);
      const hits = (await who<{ hits: Array<{ conversationId: string }> }>('GET', '/api/conversations/search?q=kohlrabi')).body.hits.filter((h) => h.conversationId === conv);
      if (yes) {
        expect(listed).toMatchObject({ owned: false, teamId: sharedWith });
        expect(hits.length).toBe(1);
      } else {
        expect(listed).toBeUndefined();
        expect(hits).toEqual([]);
      }
    };
    await sees(b, false);
    // Only the owner shares.
    expect((await b('POST', `/api/conversations/${conv}/share`, { teamId: team })).status).toBe(404);
    const shared = await a<{ teamId: string; team: { slug: string } }>('POST', `/api/conversations/${conv}/share`, { teamId: 'design' });
    expect(shared.status).toBe(200);
    expect(shared.body).toMatchObject({ teamId: team, team: { slug: 'design' } });
    await waitFor('shared job', () => changes.find((ch) => ch.change === 'shared' && ch.conversationId === conv));
    await sees(b, true);
    await sees(c, false);
    // A member reads but does not change it.
    expect((await b('PATCH', `/api/conversations/${conv}`, { title: 'mine' })).status).toBe(404);
    expect((await b('DELETE', `/api/conversations/${conv}/share`)).status).toBe(404);

    // Live: Bob follows it over the socket until it is unshared, then his subscription ends.
    const s = await TestSocket.open(t.url, { token: bob.token });
    sockets.push(s);
    expect(await s.request({ type: 'subscribe', conversationId: conv })).toMatchObject({ type: 'ack' });
    expect((await a('POST', `/api/conversations/${conv}/messages`, { content: '!help again' })).status).toBe(202);
    await waitFor('the message live', () => s.messages(conv).some((m) => m.message.content === '!help again'));
    const unshared = await a<{ teamId: string | null }>('DELETE', `/api/conversations/${conv}/share`);
    expect(unshared.body.teamId).toBeNull();
    await waitFor('the end of the subscription', () => s.of('subscription:ended', conv).length === 1);
    await waitFor('unshared job', () => changes.find((ch) => ch.change === 'unshared' && ch.conversationId === conv && ch.teamId === team));
    await sees(b, false);
    expect(await s.request({ type: 'subscribe', conversationId: conv })).toMatchObject({ type: 'error', error: { code: 'not_found' } });

    // Sharing with a second team moves it: the first team's members lose it.
    const other = (await a<{ id: string }>('POST', '/api/teams', { slug: 'ops' })).body.id;
    await a('POST', `/api/teams/${other}/members`, { username: 'carol' });
    await a('POST', `/api/conversations/${conv}/share`, { teamId: team });
    await sees(b, true);
    await a('POST', `/api/conversations/${conv}/share`, { teamId: other });
    sharedWith = other;
    await waitFor('moved job', () => changes.find((ch) => ch.change === 'shared' && ch.conversationId === conv && ch.previousTeamId === team));
    await sees(b, false);
    await sees(c, true);
  });
});

describe('a team budget', () => {
  const RESEARCH = 'Find recent peer-reviewed studies on intermittent fasting, with citations.';

  it("a shared conversation's model calls are charged to its team too; past the team's budget its turns route as on an exhausted budget, while the owner's own conversations do not", async () => {
    const a = as(alice);
    const team = (await a<{ id: string }>('POST', '/api/teams', { slug: 'budgeted', monthlyBudgetUsd: 1 })).body.id;
    const conv = (await a<{ id: string }>('POST', '/api/conversations', {})).body.id;
    await a('POST', `/api/conversations/${conv}/share`, { teamId: team });
    const res = await a<{ reply: { provider: string } | null }>('POST', `/api/conversations/${conv}/messages?wait=true`, { content: 'What is the capital of Peru?' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const rows = await t.core.database.db.select().from(usageRecords).where(eq(usageRecords.conversationId, conv));
    expect(rows.length).toBeGreaterThan(0);
    // Charged to the team, and still counted to Alice.
    expect(rows.every((r) => r.teamId === team && r.userId === alice.actor.userId)).toBe(true);
    expect((await a<{ spentThisMonthUsd: number }>('GET', `/api/teams/${team}`)).body.spentThisMonthUsd).toBeCloseTo(rows.reduce((n, r) => n + r.costUsd, 0), 6);

    // The team's month is spent: its conversations route to free (local) models; Alice's own budget (none) is untouched.
    await t.core.database.db.insert(usageRecords).values({ userId: alice.actor.userId, teamId: team, provider: 'anthropic', model: 'claude-opus-5-5', costUsd: 1 });
    const routing = t.core.services.routing;
    const shared = await routing.route({ userId: alice.actor.userId, text: RESEARCH, teamId: team });
    expect(shared).toMatchObject({ outcome: 'routed', provider: 'ollama' });
    expect(shared.reason).toContain('monthly budget');
    const own = await routing.route({ userId: alice.actor.userId, text: RESEARCH });
    expect(own.outcome === 'routed' && own.provider).not.toBe('ollama');
    // Without a team budget nothing narrows.
    await a('PATCH', `/api/teams/${team}`, { monthlyBudgetUsd: null });
    expect((await routing.route({ userId: alice.actor.userId, text: RESEARCH, teamId: team })).outcome === 'routed').toBe(true);
    expect((await routing.route({ userId: alice.actor.userId, text: RESEARCH, teamId: team }) as { provider: string }).provider).not.toBe('ollama');
  });
});

describe('who posts and who pays in a shared conversation', () => {
  interface Said {
    messageId: string;
    reply: { role: string; content: string; provider: string | null } | null;
    command: { name: string; text: string } | null;
  }
  const usage = async (who: { token: string }) => (await t.api<{ totals: { calls: number; costUsd: number } }>(who.token, 'GET', '/api/usage')).body.totals;
  const say = async (who: { token: string }, conv: string, content: string) => {
    const res = await t.api<Said>(who.token, 'POST', `/api/conversations/${conv}/messages?wait=true`, { content });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const ledger = (conv: string) => t.core.database.db.select().from(usageRecords).where(eq(usageRecords.conversationId, conv));
  const RESEARCH = 'Find recent peer-reviewed studies on intermittent fasting, with citations.';

  it("a member posts over REST and the socket while it is shared; each answer is paid by whoever asked, the team's spend has both; an exhausted member is refused while the owner is answered", async () => {
    const a = as(alice);
    const b = as(bob);
    const c = as(carol);
    const team = (await a<{ id: string }>('POST', '/api/teams', { slug: 'payers' })).body.id;
    await a('POST', `/api/teams/${team}/members`, { username: 'bob' });
    const conv = (await a<{ id: string }>('POST', '/api/conversations', { title: 'Shared costs' })).body.id;
    const post = (who: typeof b, content: string) => who<Said>('POST', `/api/conversations/${conv}/messages`, { content });
    // Before the share only the owner posts.
    expect((await post(b, 'hello?')).status).toBe(404);
    await a('POST', `/api/conversations/${conv}/share`, { teamId: team });
    expect((await post(c, 'hello?')).status).toBe(404);

    const [aliceBefore, bobBefore] = [await usage(alice), await usage(bob)];
    const asked = await say(bob, conv, 'What is the capital of Peru?');
    expect(asked.reply).toMatchObject({ role: 'assistant' });
    // Stored under the conversation with who wrote it; answered and paid as Bob, charged to the team.
    const mine = (await a<{ items: Array<{ id: string; senderId: string; metadata: Record<string, unknown> }> }>('GET', `/api/conversations/${conv}/messages`)).body.items.find((m) => m.id === asked.messageId);
    expect(mine).toMatchObject({ senderId: bob.actor.userId, metadata: { mosaicUserId: bob.actor.userId, senderName: 'bob' } });
    expect((await usage(bob)).calls).toBeGreaterThan(bobBefore.calls);
    expect((await usage(alice)).calls).toBe(aliceBefore.calls);
    let rows = await ledger(conv);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.userId === bob.actor.userId && r.teamId === team)).toBe(true);

    // The owner's own question is hers.
    expect((await say(alice, conv, 'And of Chile?')).reply).toMatchObject({ role: 'assistant' });
    expect((await usage(alice)).calls).toBeGreaterThan(aliceBefore.calls);
    rows = await ledger(conv);
    expect(new Set(rows.map((r) => r.userId))).toEqual(new Set([alice.actor.userId, bob.actor.userId]));
    expect(rows.every((r) => r.teamId === team)).toBe(true);
    expect((await a<{ spentThisMonthUsd: number }>('GET', `/api/teams/${team}`)).body.spentThisMonthUsd).toBeCloseTo(rows.reduce((n, r) => n + r.costUsd, 0), 6);

    // On the socket too: the ack names the stored message, and its answer is Bob's.
    const s = await TestSocket.open(t.url, { token: bob.token });
    sockets.push(s);
    expect(await s.request({ type: 'subscribe', conversationId: conv })).toMatchObject({ type: 'ack' });
    const sent = await s.request({ type: 'send', conversationId: conv, content: 'And of Bolivia?', clientMessageId: 'bob-socket-1' });
    expect(sent).toMatchObject({ type: 'ack', result: { duplicate: false, scheduled: true } });
    const sentId = (sent.result as { messageId: string }).messageId;
    await waitFor("the socket message's answer", () => s.messages(conv).find((m) => m.message.replyToId === sentId && m.message.metadata.final === true));
    expect(await s.request({ type: 'send', conversationId: conv, content: 'And of Bolivia?', clientMessageId: 'bob-socket-1' })).toMatchObject({ type: 'ack', result: { duplicate: true, messageId: sentId } });
    await waitFor('the socket answer in the ledger', async () => (await ledger(conv)).filter((r) => r.userId === bob.actor.userId).length > rows.filter((r) => r.userId === bob.actor.userId).length);
    expect((await ledger(conv)).filter((r) => r.userId === alice.actor.userId).length).toBe(rows.filter((r) => r.userId === alice.actor.userId).length);

    // A command a member writes speaks for them: their own budget, not the owner's.
    expect((await t.api(bob.token, 'PATCH', '/api/me', { monthlyBudgetUsd: 1 })).status).toBe(200);
    expect((await say(bob, conv, '/budget')).command?.text).toContain('$1.00 (yours)');
    expect((await say(alice, conv, '/budget')).command?.text).not.toContain('$1.00');

    // Bob's month is spent and no free local model is up: his question is refused, saying whose budget; Alice's is answered.
    await t.core.database.db.insert(usageRecords).values({ userId: bob.actor.userId, provider: 'anthropic', model: 'claude-opus-5-5', costUsd: 2 });
    for (let i = 0; i < t.config.health.failureThreshold; i++) await t.core.services.health.recordFailure('ollama', 'connection refused');
    try {
      const refused = await say(bob, conv, RESEARCH);
      expect(refused.reply).toMatchObject({ role: 'system', provider: null });
      expect(refused.reply?.content).toMatch(/^⚠️ \(bob\) Your monthly budget is used up: \$2\.\d\d spent of \$1\.00 this month/);
      const answered = await say(alice, conv, RESEARCH);
      expect(answered.reply).toMatchObject({ role: 'assistant' });
      expect(answered.reply?.provider).not.toBe('ollama');
    } finally {
      await t.core.services.health.reset('ollama');
    }

    // Keys: the owner's own key is used for her questions, never a member's (Bob has none: the system key answers him).
    expect((await t.api(bob.token, 'PATCH', '/api/me', { monthlyBudgetUsd: null })).status).toBe(200);
    const KEY = 'sk-alice-own-key-0123456789';
    const clouds = ['anthropic', 'openai', 'openrouter', 'zai'] as const;
    for (const provider of clouds) expect((await a('POST', '/api/providers/credentials', { provider, label: 'mine', apiKey: KEY })).status).toBe(201);
    const chats = () => clouds.flatMap((p) => t.simulators[p].requests.filter((r) => r.kind === 'chat'));
    const withKey = () => chats().filter((r) => JSON.stringify(r.headers).includes(KEY)).length;
    const [keyed, calls] = [withKey(), chats().length];
    expect((await say(bob, conv, RESEARCH)).reply).toMatchObject({ role: 'assistant' });
    expect(chats().length).toBeGreaterThan(calls);
    expect(withKey()).toBe(keyed);
    // Hers goes with her key (the simulator, knowing only the system key, refuses it: the key was sent).
    await say(alice, conv, RESEARCH);
    expect(withKey()).toBeGreaterThan(keyed);

    // After the share ends, Bob is not found again, on both paths.
    await a('DELETE', `/api/conversations/${conv}/share`);
    expect((await post(b, 'still here?')).status).toBe(404);
    expect(await s.request({ type: 'send', conversationId: conv, content: 'still here?' })).toMatchObject({ type: 'error', error: { code: 'not_found' } });
  }, 120_000);
});

describe('mosaic team (a real process)', () => {
  it('create, add, list, show, budget, remove, delete', () => {
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', DATABASE_URL: t.config.database.url!, VALKEY_URL: t.config.valkey.url, VALKEY_PREFIX: t.config.valkey.keyPrefix };
    const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-team-'));
    const mosaic = (...args: string[]) => spawnSync('node', [path.resolve('bin/mosaic.js'), ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
    const created = mosaic('team', 'create', 'platform', '--owner', 'alice', '--name', 'Platform', '--budget', '40');
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created team platform \([0-9a-f-]{36}\) owned by alice$/m);
    expect(mosaic('team', 'add', 'platform', 'bob').stdout).toContain('added bob to platform as member');
    expect(mosaic('team', 'list').stdout).toMatch(/^platform\tPlatform\t2 member\(s\)\t\$40\/month\t/m);
    const shown = mosaic('team', 'show', 'platform').stdout;
    expect(shown).toMatch(/^ {2}alice\towner\t/m);
    expect(shown).toMatch(/^ {2}bob\tmember\t/m);
    expect(mosaic('team', 'budget', 'platform', 'none').stdout).toContain('platform has no team budget now');
    const last = mosaic('team', 'remove', 'platform', 'alice');
    expect(last.status).toBe(1);
    expect(last.stderr).toContain('last owner');
    const bad = mosaic('team', 'budget', 'platform', 'lots');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('is not a budget');
    expect(mosaic('team', 'delete', 'platform').stdout).toContain('deleted team platform');
    expect(mosaic('team', 'show', 'platform').stderr.trim()).toBe('mosaic: team not found');
  }, 400_000);
});
