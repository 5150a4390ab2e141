/**
 * Monthly budgets in the decision pipeline: the seeded default rules (real
 * migrations on PGlite), the real catalogue and classifier, spend from the
 * real usage ledger; provider state and the clock are set by the test.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { Database } from '../../src/db/client.ts';
import { usageRecords, users } from '../../src/db/schema.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import { catalogueDirectory } from '../../src/routing/catalogue-directory.ts';
import { budgetState, monthStart, nextMonthStart } from '../../src/routing/budget.ts';
import { createRoutingService, type RoutingService } from '../../src/routing/routing-service.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { RoutingDecision, RoutingInput, RoutingRefusal, RoutingResult } from '../../src/routing/types.ts';
import { createPgliteDatabase } from '../support/databases.ts';
import { ProviderState } from './support.ts';

let database: Database;
let accounts: AccountService;
let state: ProviderState;
let routing: RoutingService;
const directory = catalogueDirectory();
const NOW = Date.parse('2026-11-25T12:00:00Z');

const CODING = 'Fix this bug:\n```ts\nconst xs: number[] = undefined;\nxs.map((x) => x * 2);\n```\nTypeError: Cannot read properties of undefined';
const RESEARCH = 'Find recent peer-reviewed studies on intermittent fasting, with citations.';
const ECONOMY_LINE = 'monthly budget 80 % used ($16.10 of $20.00): economy models only';

function serviceWith(config: Record<string, unknown> = {}, now = NOW): RoutingService {
  return createRoutingService({ db: database.db, routing: configSchema.parse({ routing: config }).routing, directory, availability: state, clock: () => now });
}

/** A fresh user with a budget and what they spent this month (and a big bill last month, which must not count). */
async function userWith(name: string, budget: number | null, spentThisMonth: number): Promise<string> {
  const { user } = await accounts.createUser({ username: name });
  await accounts.users.setMonthlyBudget(user.id, budget);
  const row = { userId: user.id, provider: 'anthropic', model: 'claude-opus-5-5' };
  await database.db.insert(usageRecords).values([
    { ...row, costUsd: 500, createdAt: new Date('2026-10-31T23:59:59Z') },
    // Two calls, so the sum is what counts, not one row.
    { ...row, costUsd: spentThisMonth / 2, createdAt: new Date('2026-11-01T00:00:00Z') },
    { ...row, costUsd: spentThisMonth / 2, createdAt: new Date('2026-11-20T08:30:00Z') },
  ]);
  return user.id;
}

const route = (userId: string, input: Partial<RoutingInput> & { text: string }, service = routing) => service.route({ userId, ...input });
function routed(r: RoutingResult): RoutingDecision {
  if (r.outcome !== 'routed') throw new Error(`expected a decision, got a refusal: ${r.userNotice}`);
  return r;
}
const target = (r: RoutingResult) => (r.outcome === 'routed' ? `${r.provider}/${r.model}` : `refused:${r.code}`);

beforeAll(async () => {
  database = await createPgliteDatabase();
  accounts = new AccountService(database.db);
  // An embedded database created and migrated in this process: generous under a loaded machine.
}, 180_000);
afterAll(async () => database.close());
beforeEach(() => {
  state = new ProviderState();
  routing = serviceWith();
});

describe('budget arithmetic', () => {
  it('states by share spent, and the month in UTC', () => {
    expect(budgetState(20, 15.99, 0.8)).toBe('ok');
    expect(budgetState(20, 16, 0.8)).toBe('economy');
    expect(budgetState(20, 20, 0.8)).toBe('exhausted');
    expect(budgetState(0, 0, 0.8)).toBe('exhausted');
    expect(monthStart(Date.parse('2026-12-31T23:30:00-05:00')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextMonthStart(NOW).toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('monthly budgets in routing', () => {
  it('under the economy threshold the rules route as usual, and the reason says nothing of the budget', async () => {
    const id = await userWith('under', 20, 5);
    const d = routed(await route(id, { text: CODING }));
    expect(target(d)).toBe('anthropic/claude-opus-5-5');
    expect(d.reason).not.toContain('budget');
    const budget = await routing.budgetFor(id);
    expect(budget).toMatchObject({ monthlyUsd: 20, source: 'user', spentUsd: 5, state: 'ok', resetsAt: '2026-12-01T00:00:00.000Z' });
  });

  it('from 80 % only economy or free models are candidates; every other one is skipped naming the budget', async () => {
    const id = await userWith('thrifty', 20, 16.1);
    const d = routed(await route(id, { text: RESEARCH }));
    // Research → GPT-6.2 Sol and its fallbacks are all standard or premium; the chain's GPT-6 Luna is economy.
    expect(target(d)).toBe('openai/gpt-6-luna');
    expect(directory.find(d.provider, d.model)?.tier).toBe('economy');
    expect(d.fallbacksTried.map((t) => `${t.provider}/${t.model}`)).toEqual(['openai/gpt-6.2-sol', 'openai/gpt-6.1-sol', 'anthropic/claude-opus-5-5', 'zai/glm-5.3', 'anthropic/claude-sonnet-5-5']);
    for (const t of d.fallbacksTried) expect(t.why).toBe(ECONOMY_LINE);
    expect(d.reason).toContain(ECONOMY_LINE);
    expect(d.estimatedCostTier).toBe('economy');
  });

  it('with the rules and chain exhausted, an economy model from the whole directory answers before refusing', async () => {
    const id = await userWith('cheapest', 20, 17);
    state.down.add('openai');
    state.down.add('ollama');
    const d = routed(await route(id, { text: RESEARCH }, serviceWith({ fallbackChain: [] })));
    expect(directory.find(d.provider, d.model)?.tier).toBe('economy');
    expect(d.provider).not.toBe('openai');
    expect(d.reason).toContain('a model within the monthly budget');
  });

  it('past the budget only free local models answer', async () => {
    const id = await userWith('spent', 20, 20.5);
    const coding = routed(await route(id, { text: CODING }));
    expect(target(coding)).toBe('ollama/qwen2.5-coder');
    expect(coding.reason).toContain('monthly budget used up ($20.50 of $20.00): free local models only until 1 December 2026 (UTC)');
    expect(coding.fallbacksTried.every((t) => t.why.startsWith('monthly budget used up'))).toBe(true);
    expect(routed(await route(id, { text: RESEARCH })).provider).toBe('ollama');
  });

  it('past the budget with Ollama down: a budget_exhausted refusal a person understands', async () => {
    const id = await userWith('broke', 20, 20.5);
    state.down.add('ollama');
    const r = await route(id, { text: CODING });
    expect(r.outcome).toBe('refused');
    const refusal = r as RoutingRefusal;
    expect(refusal.code).toBe('budget_exhausted');
    expect(refusal.userNotice).toContain('$20.50 spent of $20.00 this month');
    expect(refusal.userNotice).toContain('resets on 1 December 2026 (UTC)');
    expect(refusal.userNotice).toMatch(/raise your budget.*monthlyBudgetUsd/);
    expect(refusal.reason).toContain('monthly budget used up');
  });

  it('the budget wins over a /model pin, and the reason says so', async () => {
    const id = await userWith('pinned', 20, 16.1);
    const pin = { provider: 'anthropic' as const, model: 'claude-opus-5-5' };
    const d = routed(await route(id, { text: RESEARCH, pin }));
    expect(target(d)).not.toBe('anthropic/claude-opus-5-5');
    expect(directory.find(d.provider, d.model)?.tier).toBe('economy');
    expect(d.reason).toContain(`the monthly budget wins over the /model pin anthropic/claude-opus-5-5 (${ECONOMY_LINE})`);
    // A pin the budget allows still wins.
    expect(target(await route(id, { text: RESEARCH, pin: { provider: 'anthropic', model: 'claude-haiku-5-5' } }))).toBe('anthropic/claude-haiku-5-5');
  });

  it('the configured default applies to users without their own; their own wins; null clears it', async () => {
    const withDefault = serviceWith({ budgets: { defaultMonthlyUsd: 10 } });
    const id = await userWith('defaulted', null, 9);
    expect(await withDefault.budgetFor(id)).toMatchObject({ monthlyUsd: 10, source: 'default', state: 'economy' });
    expect(await routing.budgetFor(id)).toBeNull();
    expect(target(await route(id, { text: CODING }))).toBe('anthropic/claude-opus-5-5');
    await accounts.users.setMonthlyBudget(id, 100);
    expect(await withDefault.budgetFor(id)).toMatchObject({ monthlyUsd: 100, source: 'user', state: 'ok' });
    expect(target(await route(id, { text: CODING }, withDefault))).toBe('anthropic/claude-opus-5-5');
    await accounts.users.setMonthlyBudget(id, null);
    expect((await database.db.select().from(users).where(eq(users.id, id)))[0]!.monthlyBudgetUsd).toBeNull();
    expect(target(await route(id, { text: CODING }, withDefault))).toBe('ollama/qwen2.5-coder');
  });

  it('a new month starts from zero', async () => {
    const id = await userWith('newmonth', 20, 25);
    const december = serviceWith({}, Date.parse('2026-12-01T00:00:00Z'));
    expect(await december.budgetFor(id)).toMatchObject({ spentUsd: 0, state: 'ok', resetsAt: '2027-01-01T00:00:00.000Z' });
    expect(target(await route(id, { text: CODING }, december))).toBe('anthropic/claude-opus-5-5');
  });

  it('another user is unaffected', async () => {
    await userWith('capped', 1, 5);
    const other = await userWith('free-spender', null, 400);
    expect(target(await route(other, { text: CODING }))).toBe('anthropic/claude-opus-5-5');
    expect(await routing.budgetFor(other)).toBeNull();
  });
});
