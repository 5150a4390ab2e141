/**
 * Monthly budgets end to end: the real REST API, PostgreSQL and Redis, the
 * reply workers, routing with the seeded default rules and the provider
 * simulators answering. Spend is what the usage ledger holds for this month.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecords } from '../../src/db/schema.ts';
import type { Actor } from '../../src/identity/actor.ts';
import type { BudgetStatus } from '../../src/routing/budget.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

interface Reply {
  reply: { role: string; content: string; provider: string | null; model: string | null; routing: { reason: string; code?: string } | null } | null;
  command: { name: string; text: string; data: { budget: BudgetStatus | null } } | null;
}
interface PublicUser {
  username: string;
  monthlyBudgetUsd: number | null;
}

let t: TestMosaic;
let carol: { token: string; actor: Actor };
let dan: { token: string; actor: Actor };

const RESEARCH = 'Find recent peer-reviewed studies on intermittent fasting, with citations.';

beforeAll(async () => {
  t = await startTestMosaic();
  carol = await t.createUser('carol');
  dan = await t.createUser('dan');
}, 120_000);
afterAll(async () => t?.stop());

async function newConversation(token: string): Promise<string> {
  const res = await t.api<{ id: string }>(token, 'POST', '/api/conversations', {});
  expect(res.status).toBe(201);
  return res.body.id;
}

async function say(token: string, conversationId: string, content: string): Promise<Reply> {
  const res = await t.api<Reply>(token, 'POST', `/api/conversations/${conversationId}/messages?wait=true`, { content });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Usage recorded this month, as if earlier answers had cost it. */
async function spend(actor: Actor, costUsd: number): Promise<void> {
  await t.core.database.db.insert(usageRecords).values({ userId: actor.userId, provider: 'anthropic', model: 'claude-opus-5-5', costUsd });
}

const usage = (token: string) => t.api<{ budget: BudgetStatus | null; totals: { costUsd: number } }>(token, 'GET', '/api/usage');

describe('monthly budgets over the REST API', () => {
  it('PATCH /api/me sets and clears the budget, and refuses bad values with a clear 400', async () => {
    for (const [body, problem] of [
      [{ monthlyBudgetUsd: -1 }, /monthlyBudgetUsd cannot be negative/],
      [{ monthlyBudgetUsd: '20' }, /monthlyBudgetUsd must be a number of US dollars/],
      [{ monthlyBudgetUsd: true }, /monthlyBudgetUsd must be a number/],
      [{}, /give localOnly and\/or monthlyBudgetUsd/],
      [{ monthlyBudget: 20 }, /monthlyBudget/],
    ] as const) {
      const res = await t.api<{ error: { code: string; message: string } }>(carol.token, 'PATCH', '/api/me', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
      expect(res.body.error.message).toMatch(problem);
    }
    expect((await t.api<PublicUser>(carol.token, 'GET', '/api/me')).body.monthlyBudgetUsd).toBeNull();

    const set = await t.api<PublicUser>(carol.token, 'PATCH', '/api/me', { monthlyBudgetUsd: 20 });
    expect(set.status).toBe(200);
    expect(set.body.monthlyBudgetUsd).toBe(20);
    expect((await usage(carol.token)).body.budget).toMatchObject({ monthlyUsd: 20, source: 'user', spentUsd: 0, state: 'ok' });

    const cleared = await t.api<PublicUser>(carol.token, 'PATCH', '/api/me', { monthlyBudgetUsd: null });
    expect(cleared.body.monthlyBudgetUsd).toBeNull();
    expect((await usage(carol.token)).body.budget).toBeNull();
  });

  it('/budget shows, sets and clears your own budget from any surface; a bad amount is a usage error', async () => {
    const erin = await t.createUser('erin');
    const id = await newConversation(erin.token);
    const me = async () => (await t.api<PublicUser>(erin.token, 'GET', '/api/me')).body.monthlyBudgetUsd;
    expect((await say(erin.token, id, '/budget')).command?.text).toContain('Monthly budget: none');
    const set = await say(erin.token, id, '!budget $12.50');
    expect(set.command?.text).toContain('Your monthly budget is now $12.50.');
    expect(set.command?.data.budget).toMatchObject({ monthlyUsd: 12.5, source: 'user', state: 'ok' });
    expect(await me()).toBe(12.5);
    const bad = await say(erin.token, id, '/budget lots');
    expect(bad.command?.text).toMatch(/"lots" is not an amount of US dollars/);
    expect(await me()).toBe(12.5);
    expect((await say(erin.token, id, '/budget off')).command?.text).toContain('Your own monthly budget is cleared.');
    expect(await me()).toBeNull();
  });

  it('an admin sets anyone\'s budget; a member cannot; an unknown user is 404', async () => {
    const set = await t.api<PublicUser>(t.adminToken, 'PATCH', '/api/admin/users/dan', { monthlyBudgetUsd: 7.5 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ username: 'dan', monthlyBudgetUsd: 7.5 });
    const list = await t.api<{ users: PublicUser[] }>(t.adminToken, 'GET', '/api/admin/users');
    expect(list.body.users.find((u) => u.username === 'dan')?.monthlyBudgetUsd).toBe(7.5);
    expect((await t.api(carol.token, 'PATCH', '/api/admin/users/dan', { monthlyBudgetUsd: 1000 })).status).toBe(403);
    expect((await t.api(t.adminToken, 'PATCH', '/api/admin/users/nobody-here', { monthlyBudgetUsd: 1 })).status).toBe(404);
    expect((await t.api(t.adminToken, 'PATCH', '/api/admin/users/dan', { monthlyBudgetUsd: -5 })).status).toBe(400);
    const cleared = await t.api<PublicUser>(t.adminToken, 'PATCH', '/api/admin/users/dan', { monthlyBudgetUsd: null });
    expect(cleared.body.monthlyBudgetUsd).toBeNull();
  });

  it('from 80 % an economy model answers, past the budget a local one, and with Ollama down the budget notice; another user is unaffected', async () => {
    expect((await t.api(carol.token, 'PATCH', '/api/me', { monthlyBudgetUsd: 1 })).status).toBe(200);
    await spend(carol.actor, 0.85);
    const id = await newConversation(carol.token);

    // Research → GPT-6.2 Sol and its fallbacks are above economy; the chain's GPT-6 Luna is not.
    const thrifty = await say(carol.token, id, RESEARCH);
    expect(thrifty.reply).toMatchObject({ role: 'assistant', provider: 'openai', model: 'gpt-6-luna' });
    expect(thrifty.reply?.routing?.reason).toContain('openai/gpt-6.2-sol skipped: monthly budget 85 % used ($0.85 of $1.00): economy models only');

    const shown = await say(carol.token, id, '!usage');
    expect(shown.command?.name).toBe('usage');
    expect(shown.command?.text).toMatch(/Monthly budget: \$1\.00 \(yours\), 85 % used \(\$0\.85 of \$1\.00\) — state \*\*economy\*\*: economy models only; resets 1 \w+ \d{4} \(UTC\)/);
    expect(shown.command?.data.budget).toMatchObject({ monthlyUsd: 1, state: 'economy' });
    const api = await usage(carol.token);
    expect(api.body.budget).toMatchObject({ monthlyUsd: 1, source: 'user', state: 'economy' });
    // The Luna answer was recorded too: spend is the whole ledger of this month.
    expect(api.body.budget!.spentUsd).toBeGreaterThan(0.85);
    expect(api.body.budget!.spentUsd).toBeCloseTo(api.body.totals.costUsd, 10);

    const explained = await t.api<{ outcome: string; reason: string }>(carol.token, 'POST', '/api/routing/explain', { text: RESEARCH });
    expect(explained.body.reason).toContain('economy models only');

    await spend(carol.actor, 0.2);
    const local = await say(carol.token, id, RESEARCH);
    expect(local.reply).toMatchObject({ role: 'assistant', provider: 'ollama' });
    expect(local.reply?.routing?.reason).toMatch(/monthly budget used up \(\$1\.\d\d of \$1\.00\): free local models only until 1 \w+ \d{4} \(UTC\)/);
    expect((await say(carol.token, id, '/usage')).command?.text).toContain('state **exhausted**: free local models only');

    for (let i = 0; i < t.config.health.failureThreshold; i++) await t.core.services.health.recordFailure('ollama', 'connection refused');
    const cloudChats = () => (['anthropic', 'openai', 'openrouter', 'zai'] as const).reduce((n, p) => n + t.simulators[p].requests.filter((r) => r.kind === 'chat').length, 0);
    const cloudBefore = cloudChats();
    try {
      const refused = await say(carol.token, id, RESEARCH);
      expect(refused.reply).toMatchObject({ role: 'system', provider: null });
      expect(refused.reply?.content).toMatch(/^⚠️ Your monthly budget is used up: \$1\.\d\d spent of \$1\.00 this month\. Until it resets on 1 \w+ \d{4} \(UTC\)/);
      expect(refused.reply?.content).toContain('raise your budget');
      expect(cloudChats()).toBe(cloudBefore);

      // Dan has no budget and spent far more: the rules route him as usual.
      await spend(dan.actor, 300);
      const other = await say(dan.token, await newConversation(dan.token), RESEARCH);
      expect(other.reply).toMatchObject({ provider: 'openai', model: 'gpt-6.2-sol' });
      expect(other.reply?.routing?.reason).not.toContain('budget');
      expect((await usage(dan.token)).body.budget).toBeNull();
    } finally {
      await t.core.services.health.reset('ollama');
    }

    // Raising the budget takes effect on the next message.
    expect((await t.api(carol.token, 'PATCH', '/api/me', { monthlyBudgetUsd: 50 })).status).toBe(200);
    expect((await say(carol.token, id, RESEARCH)).reply).toMatchObject({ provider: 'openai', model: 'gpt-6.2-sol' });
  });
});
