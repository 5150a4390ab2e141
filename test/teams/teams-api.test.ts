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
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { TestSocket, waitFor } from '../live/support.ts';

let t: TestMosaic;
let alice: { token: string; actor: Actor };
let bob: { token: string; actor: Actor };
let carol: { token: string; actor: Actor };
const changes: TeamChange[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  t = await startTestMosaic({ providers: ['ollama'] });
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
