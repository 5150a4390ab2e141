/**
 * The decision pipeline over the seeded default rules (real migrations on
 * PGlite), the real catalogue and the real classifier; only provider state
 * (health, keys) is set by the test.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { catalogueDirectory } from '../../src/routing/catalogue-directory.ts';
import { parseModelSelection } from '../../src/routing/model-pin.ts';
import { createRoutingService, refusalError, type RoutingService } from '../../src/routing/routing-service.ts';
import { RuleStore } from '../../src/routing/rule-store.ts';
import { isRetired } from '../../src/routing/router.ts';
import { configSchema } from '../../src/config/schema.ts';
import type { ModelRef, RoutingDecision, RoutingInput, RoutingRefusal, RoutingResult } from '../../src/routing/types.ts';
import { users } from '../../src/db/schema.ts';
import { eq } from 'drizzle-orm';
import { createPgliteDatabase } from '../support/databases.ts';
import { ProviderState } from './support.ts';

let database: Database;
let routing: RoutingService;
let state: ProviderState;
let alice: Actor;
let bob: Actor;
const routingConfig = configSchema.parse({}).routing;
const directory = catalogueDirectory();

const CODING = 'Fix this bug:\n```ts\nconst xs: number[] = undefined;\nxs.map((x) => x * 2);\n```\nTypeError: Cannot read properties of undefined';
const SIMPLE_QUESTION = 'What is the capital of Australia?';
const SUMMARY = 'Summarize the key points of this email thread for my manager: Ana says the budget is due Friday, Ben says finance needs until Monday.';

beforeAll(async () => {
  database = await createPgliteDatabase();
  const accounts = new AccountService(database.db);
  const a = await accounts.createUser({ username: 'alice' });
  const b = await accounts.createUser({ username: 'bob' });
  alice = { userId: a.user.id, role: 'member', username: 'alice' };
  bob = { userId: b.user.id, role: 'member', username: 'bob' };
});
afterAll(async () => database.close());

beforeEach(() => {
  state = new ProviderState();
  routing = createRoutingService({ db: database.db, routing: routingConfig, directory, availability: state });
});

const route = (input: Partial<RoutingInput> & { text: string }) => routing.route({ userId: alice.userId, ...input });
function routed(r: RoutingResult): RoutingDecision {
  if (r.outcome !== 'routed') throw new Error(`expected a decision, got a refusal: ${r.userNotice}`);
  return r;
}
const target = (r: RoutingResult) => (r.outcome === 'routed' ? `${r.provider}/${r.model}` : `refused:${r.code}`);

describe('default rules (AC-2)', () => {
  it('a coding task, a simple question and a summary land on Opus, Haiku and GLM-5', async () => {
    const coding = routed(await route({ text: CODING }));
    expect(target(coding)).toBe('anthropic/claude-opus-5-5');
    expect(coding.rule?.name).toBe('Coding → Claude Opus');
    expect(coding.classification.taskType).toBe('coding');
    const question = routed(await route({ text: SIMPLE_QUESTION }));
    expect(target(question)).toBe('anthropic/claude-haiku-5-5');
    expect(question.rule?.name).toBe('Simple questions → Claude Haiku');
    const summary = routed(await route({ text: SUMMARY }));
    expect(target(summary)).toBe('zai/glm-5');
    expect(summary.rule?.name).toBe('Summaries → GLM-5');
    for (const d of [coding, question, summary]) {
      expect(d.fallbacksTried).toEqual([]);
      expect(d.reason).toContain(`rule "${d.rule!.name}" matched`);
    }
  });

  it('covers the other defaults: general questions, research, vision, long input, offline, catch-all', async () => {
    expect(target(await route({ text: 'How do vaccines train the immune system, and why do some need boosters?' }))).toBe('anthropic/claude-sonnet-5-5');
    expect(target(await route({ text: 'Find recent peer-reviewed studies on intermittent fasting, with citations.' }))).toBe('openai/gpt-6.2-sol');
    const vision = routed(await route({ text: 'What does this diagram show?', attachments: [{ name: 'd.png', mimeType: 'image/png', sizeBytes: 100_000 }] }));
    expect(vision.rule?.name).toBe('Images → vision model');
    expect(directory.find(vision.provider, vision.model)?.vision).toBe(true);
    const long = routed(await route({ text: `Summarize this:\n${'The committee discussed the budget at length. '.repeat(30_000)}` }));
    expect(long.rule?.name).toBe('Very long input → largest context window');
    const largest = Math.max(...directory.list().filter((m) => !m.embedding).map((m) => m.contextWindow));
    expect(directory.find(long.provider, long.model)?.contextWindow).toBe(largest);
    for (const p of ['anthropic', 'openai', 'openrouter', 'zai'] as const) state.systemKeys.delete(p);
    const offline = routed(await route({ text: CODING }));
    expect(offline.rule?.name).toBe('Offline or no keys → Ollama');
    expect(offline.provider).toBe('ollama');
  });

  it('is deterministic for the same input and state', async () => {
    state.down.add('anthropic');
    const a = await route({ text: CODING, channel: 'matrix' });
    const b = await route({ text: CODING, channel: 'matrix' });
    expect(b).toEqual(a);
  });
});

describe('health-aware fallback', () => {
  it('a down provider: the rule\'s fallback is used and the reason says so', async () => {
    state.down.add('anthropic');
    const d = routed(await route({ text: CODING }));
    expect(target(d)).toBe('openai/gpt-6.1-sol');
    expect(d.rule?.name).toBe('Coding → Claude Opus');
    expect(d.fallbacksTried).toEqual([{ provider: 'anthropic', model: 'claude-opus-5-5', why: 'anthropic is down' }]);
    expect(d.reason).toContain('anthropic/claude-opus-5-5 skipped: anthropic is down');
    expect(d.reason).toContain('used a fallback of the rule openai/gpt-6.1-sol');
  });

  it('a missing key counts like a down provider; a user\'s own key makes it usable for that user only', async () => {
    state.systemKeys.delete('zai');
    const noKey = routed(await route({ text: SUMMARY }));
    expect(target(noKey)).toBe('anthropic/claude-haiku-5-5');
    expect(noKey.fallbacksTried[0]).toEqual({ provider: 'zai', model: 'glm-5', why: 'no usable zai API key for this user' });
    state.userKeys.set(alice.userId, new Set(['zai']));
    expect(target(await route({ text: SUMMARY }))).toBe('zai/glm-5');
    expect(target(await routing.route({ userId: bob.userId, text: SUMMARY }))).toBe('anthropic/claude-haiku-5-5');
  });

  it('when the rule and its fallbacks are all unusable, the global fallback chain is used', async () => {
    state.down.add('anthropic');
    state.down.add('openai');
    state.down.add('zai');
    const d = routed(await route({ text: SUMMARY }));
    // Summaries → GLM-5 falls back to haiku, gpt-6-luna, then llama3.2 (its own last fallback).
    expect(target(d)).toBe('ollama/llama3.2');
    expect(d.fallbacksTried.map((t) => `${t.provider}/${t.model}`)).toEqual(['zai/glm-5', 'anthropic/claude-haiku-5-5', 'openai/gpt-6-luna']);
    state.down.add('ollama');
    state.down.delete('openai');
    // Nothing of "Small talk → Haiku" works except gpt-6-luna.
    expect(target(await route({ text: 'hey there, thanks!' }))).toBe('openai/gpt-6-luna');
  });

  it('no usable provider at all: a refusal with a clear message, not an exception', async () => {
    for (const p of ['anthropic', 'openai', 'openrouter', 'zai', 'ollama'] as const) state.down.add(p);
    const r = await route({ text: CODING });
    expect(r.outcome).toBe('refused');
    const refusal = r as RoutingRefusal;
    expect(refusal.code).toBe('no_usable_provider');
    expect(refusal.userNotice).toMatch(/^No model can take this message right now \(.*is down.*\)/);
    expect(refusal.fallbacksTried.length).toBeGreaterThan(3);
    const err = refusalError(refusal);
    expect(err.code).toBe('no_usable_provider');
    expect(err.userNotice).toBe(refusal.userNotice);
  });

  it('a health check that throws counts as down, never as a routing failure', async () => {
    const throwing = createRoutingService({
      db: database.db,
      routing: routingConfig,
      directory,
      availability: { isHealthy: (p) => { if (p === 'anthropic') throw new Error('probe crashed'); return true; }, hasCredential: () => true, isLocal: (p) => p === 'ollama' },
    });
    const d = routed(await throwing.route({ userId: alice.userId, text: CODING }));
    expect(target(d)).toBe('openai/gpt-6.1-sol');
  });
});

describe('retired models', () => {
  it('a model past its retirement date is skipped with the date as the reason, and the next candidate answers', async () => {
    const at = (iso: string) => createRoutingService({ db: database.db, routing: routingConfig, directory, availability: state, clock: () => Date.parse(iso) });
    const pin: ModelRef = { provider: 'anthropic', model: 'claude-sonnet-4-5' };
    const before = routed(await at('2026-11-29T12:00:00Z').route({ userId: alice.userId, text: SIMPLE_QUESTION, pin }));
    expect(target(before)).toBe('anthropic/claude-sonnet-4-5');
    const after = routed(await at('2026-11-30T00:00:00Z').route({ userId: alice.userId, text: SIMPLE_QUESTION, pin }));
    expect(target(after)).toBe('anthropic/claude-haiku-5-5');
    expect(after.fallbacksTried[0]).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5', why: 'retired by the provider on 2026-11-30' });
    expect(after.reason).toContain('pinned model anthropic/claude-sonnet-4-5 is unusable (retired by the provider on 2026-11-30)');
  });

  it('no default rule, fallback or chain entry names a model that is already retired', async () => {
    const rules = await new RuleStore(database.db).rulesFor(null);
    const refs = [...rules.systemRules.flatMap((r) => [r.action.routeTo, ...r.fallbacks]), ...routingConfig.fallbackChain];
    const retired = refs.filter((r) => {
      const info = directory.find(r.provider, r.model);
      return !info || isRetired(info, Date.now());
    });
    expect(retired).toEqual([]);
  });
});

describe('/model pin', () => {
  // The conversation's pin as the conversations service will hold it.
  let pin: ModelRef | null = null;
  const command = (arg: string) => {
    const sel = parseModelSelection(arg, directory);
    if (sel.kind === 'invalid') throw new Error(sel.message);
    pin = sel.kind === 'auto' ? null : { provider: sel.provider, model: sel.model };
  };

  it('wins over every rule until /model auto', async () => {
    command('haiku');
    expect(pin).toEqual({ provider: 'anthropic', model: 'claude-haiku-5-5' });
    for (const text of [CODING, SUMMARY, 'Find studies on sleep and memory, with citations.', 'Translate "hello" into German.']) {
      const d = routed(await route({ text, pin }));
      expect(target(d)).toBe('anthropic/claude-haiku-5-5');
      expect(d.rule).toBeNull();
      expect(d.reason).toContain('pinned with /model to anthropic/claude-haiku-5-5');
    }
    command('auto');
    expect(pin).toBeNull();
    expect(target(await route({ text: CODING, pin }))).toBe('anthropic/claude-opus-5-5');
  });

  it('an unusable pin is named in the reason and the rules take over', async () => {
    command('zai/glm-4.6');
    state.down.add('zai');
    const d = routed(await route({ text: CODING, pin }));
    expect(target(d)).toBe('anthropic/claude-opus-5-5');
    expect(d.reason).toContain('pinned model zai/glm-4.6 is unusable (zai is down), routed by the rules instead');
    expect(d.fallbacksTried[0]).toEqual({ provider: 'zai', model: 'glm-4.6', why: 'zai is down' });
  });

  it('rejects names it cannot resolve, without guessing', () => {
    expect(parseModelSelection('nonsense-model', directory)).toMatchObject({ kind: 'invalid' });
    expect(parseModelSelection('openai/text-embedding-3-small', directory)).toMatchObject({ kind: 'invalid', message: expect.stringContaining('embedding') });
  });
});

describe('local-only data policy', () => {
  it('a local-only conversation goes only to a local provider, whatever the rules and the pin say', async () => {
    const d = routed(await route({ text: CODING, localOnly: true, pin: { provider: 'anthropic', model: 'claude-opus-5-5' } }));
    expect(d.provider).toBe('ollama');
    expect(d.reason).toContain('local-only');
    expect(d.fallbacksTried.filter((t) => t.provider !== 'ollama').every((t) => t.why.startsWith('data policy is local-only'))).toBe(true);
    expect(d.fallbacksTried.some((t) => t.provider === 'anthropic' && t.model === 'claude-opus-5-5')).toBe(true);
    const vision = routed(await route({ text: 'What is in this photo?', localOnly: true, attachments: [{ name: 'p.jpg', mimeType: 'image/jpeg', sizeBytes: 50_000 }] }));
    expect(target(vision)).toBe('ollama/llava');
  });

  it('with no healthy local provider the user is told, and nothing leaks to a cloud provider', async () => {
    state.down.add('ollama');
    const r = await route({ text: SIMPLE_QUESTION, localOnly: true });
    expect(r.outcome).toBe('refused');
    expect((r as RoutingRefusal).code).toBe('local_only_unavailable');
    expect((r as RoutingRefusal).userNotice).toMatch(/local-only.*nothing was sent to a cloud provider/);
  });

  it('a user marked local-only is local-only in every conversation', async () => {
    await database.db.update(users).set({ localOnly: true }).where(eq(users.id, bob.userId));
    try {
      const d = routed(await routing.route({ userId: bob.userId, text: CODING, localOnly: false }));
      expect(d.provider).toBe('ollama');
      expect(target(await route({ text: CODING }))).toBe('anthropic/claude-opus-5-5');
    } finally {
      await database.db.update(users).set({ localOnly: false }).where(eq(users.id, bob.userId));
    }
  });
});

describe('user rules, disabled system rules and agents', () => {
  it('a user\'s own rule comes before system rules; disabling a system rule skips it for that user only', async () => {
    const mine = await routing.rules.create(alice, {
      name: 'My code goes to GPT-5',
      conditions: [{ type: 'taskType', value: ['coding', 'analysis'] }],
      action: { routeTo: { provider: 'openai', model: 'gpt-6-sol' } },
    });
    try {
      expect(routed(await route({ text: CODING })).rule).toEqual({ id: mine.id, name: 'My code goes to GPT-5' });
      expect(target(await routing.route({ userId: bob.userId, text: CODING }))).toBe('anthropic/claude-opus-5-5');
    } finally {
      await routing.rules.remove(alice, mine.id);
    }
    const haikuRule = (await routing.rules.listVisible(alice)).find((r) => r.name === 'Simple questions → Claude Haiku')!;
    await routing.rules.setDisabledForMe(alice, haikuRule.id, true);
    try {
      const d = routed(await route({ text: SIMPLE_QUESTION }));
      expect(d.rule?.name).toBe('Questions → Claude Sonnet');
      expect(routed(await routing.route({ userId: bob.userId, text: SIMPLE_QUESTION })).rule?.name).toBe('Simple questions → Claude Haiku');
    } finally {
      await routing.rules.setDisabledForMe(alice, haikuRule.id, false);
    }
  });

  it('rules can target the active agent, and an agent\'s preferred models come before general system rules', async () => {
    const agent = { id: '11111111-2222-4333-8444-555555555555', name: 'lawyer', domains: ['legal'], preferredModels: [{ provider: 'openai' as const, model: 'gpt-6.2-astra' }], tools: ['memory', 'web'] };
    const preferred = routed(await route({ text: SIMPLE_QUESTION, agent }));
    expect(target(preferred)).toBe('openai/gpt-6.2-astra');
    expect(preferred.rule).toBeNull();
    expect(preferred.reason).toContain('agent "lawyer" has preferred models');
    expect(preferred.reason).toContain("used the agent's preferred model openai/gpt-6.2-astra");
    const admin: Actor = { userId: alice.userId, role: 'admin', username: 'alice' };
    const rule = await routing.rules.create(admin, {
      name: 'Lawyer agent → Opus, memory only',
      scope: 'system',
      priority: 5,
      conditions: [{ type: 'agent', value: 'lawyer' }],
      action: { routeTo: { provider: 'anthropic', model: 'claude-opus-5-5', systemPromptOverride: 'Cite the statute.', toolAllowlist: ['memory', 'shell'] } },
    });
    try {
      const d = routed(await route({ text: SIMPLE_QUESTION, agent }));
      expect(target(d)).toBe('anthropic/claude-opus-5-5');
      expect(d.agent).toEqual({ id: agent.id, name: 'lawyer', systemPromptOverride: 'Cite the statute.', toolAllowlist: ['memory'] });
      const domainRule = await routing.rules.create(alice, { name: 'Legal to Sonnet', conditions: [{ type: 'domain', value: 'legal' }], action: { routeTo: { provider: 'anthropic', model: 'claude-sonnet-5-5' } } });
      expect(target(await route({ text: 'hello', agent: { id: agent.id, name: 'other', domains: ['Legal'] } }))).toBe('anthropic/claude-sonnet-5-5');
      await routing.rules.remove(alice, domainRule.id);
    } finally {
      await routing.rules.remove(admin, rule.id);
    }
  });

  it('channel and cost tier conditions match one value or a set', async () => {
    const rule = await routing.rules.create(alice, {
      name: 'Cheap on the terminal',
      conditions: [{ type: 'channel', value: ['tui', 'web'] }, { type: 'costTier', value: 'economy' }],
      action: { routeTo: { provider: 'openai', model: 'gpt-6-luna' } },
    });
    try {
      expect(target(await route({ text: CODING, channel: 'tui', costTier: 'economy' }))).toBe('openai/gpt-6-luna');
      expect(target(await route({ text: CODING, channel: 'tui', costTier: 'premium' }))).toBe('anthropic/claude-opus-5-5');
      expect(target(await route({ text: CODING, channel: 'matrix', costTier: 'economy' }))).toBe('anthropic/claude-opus-5-5');
      // Without an asked-for tier, complexity decides: a simple question is economy.
      expect(target(await route({ text: SIMPLE_QUESTION, channel: 'web' }))).toBe('openai/gpt-6-luna');
    } finally {
      await routing.rules.remove(alice, rule.id);
    }
  });
});

describe('agent profiles from agent configs', () => {
  it('reads the agent\'s own model first, then its preferred models, dropping names that do not resolve', async () => {
    const { toAgentProfile } = await import('../../src/routing/agent-profile.ts');
    const profile = toAgentProfile(
      { id: 'a1', name: 'coder', provider: 'zai', model: 'glm-4.6', tools: ['memory_save'], capabilities: { domains: ['software'], preferredModels: ['opus', 'nonsense-model', 'zai/glm-4.6'] } },
      directory,
    );
    expect(profile).toEqual({
      id: 'a1',
      name: 'coder',
      domains: ['software'],
      preferredModels: [{ provider: 'zai', model: 'glm-4.6' }, { provider: 'anthropic', model: 'claude-opus-5-5' }],
      tools: ['memory_save'],
    });
    expect(target(await route({ text: 'hello there', agent: profile }))).toBe('zai/glm-4.6');
  });
});
