/**
 * The decision pipeline: classify → the user's rules, then system rules, by
 * priority → first match → is the provider healthy and does this user have
 * a usable credential → otherwise the rule's fallbacks, then the global
 * fallback chain. A `/model` pin comes before every rule; a local-only data
 * policy and a monthly budget past its economy threshold filter every
 * candidate, pins included. Same input and same
 * provider state give the same decision. Never throws for "nothing usable":
 * that is a RoutingRefusal with a sentence for the person.
 */
import { PROVIDER_NAMES } from '../providers/types.ts';
import { budgetConstraint, budgetExhaustedNotice, budgetUsage, resetDate } from './budget.ts';
import type { ClassifyInput } from './classifier.ts';
import type { CompiledRule, CompiledRuleSet, MatchContext } from './rule-matcher.ts';
import type {
  BudgetStatus,
  Classification,
  CostTier,
  DecisionAgent,
  FallbackTried,
  ModelDirectory,
  ModelInfo,
  ModelRef,
  ProviderAvailability,
  ProviderName,
  RoutingInput,
  RoutingResult,
} from './types.ts';

export interface Classify {
  classify(input: ClassifyInput): Promise<Classification> | Classification;
}

export interface RouterOptions {
  directory: ModelDirectory;
  availability: ProviderAvailability;
  classifier: Classify;
  /** `routing.fallbackChain` from the config. */
  fallbackChain: readonly ModelRef[];
  /** For retirement dates; tests pass their own. */
  clock?: () => number;
}

type Origin = 'pin' | 'rule' | 'rule-fallback' | 'agent' | 'chain' | 'local' | 'budget';

interface Candidate extends ModelRef {
  origin: Origin;
  rule: CompiledRule | null;
}

const TIER_BY_COMPLEXITY: Record<Classification['complexity'], CostTier> = { simple: 'economy', moderate: 'standard', complex: 'premium' };

const ORIGIN_LABEL: Record<Origin, string> = {
  pin: 'the /model pin',
  rule: 'the rule',
  'rule-fallback': "a fallback of the rule",
  agent: "the agent's preferred model",
  chain: 'the global fallback chain',
  local: 'a local model (data policy)',
  budget: 'a model within the monthly budget',
};

const ref = (c: ModelRef) => `${c.provider}/${c.model}`;

export class Router {
  constructor(private readonly options: RouterOptions) {}

  async decide(input: RoutingInput, rules: CompiledRuleSet): Promise<RoutingResult> {
    const { availability, directory } = this.options;
    const classified = this.options.classifier.classify({
      text: input.text,
      ...(input.attachments ? { attachments: input.attachments } : {}),
      ...(input.agent?.domains ? { agentDomains: input.agent.domains } : {}),
    });
    const classification = classified instanceof Promise ? await classified : classified;
    const localOnly = input.localOnly === true;
    // Only a budget past its economy threshold changes anything; the line is formatted once per decision.
    const budget = input.budget && input.budget.state !== 'ok' ? input.budget : null;
    const budgetLine = budget ? budgetConstraint(budget) : null;

    // Provider state is read at most once per provider per decision, so one decision sees one consistent state.
    // Synchronous answers are used as they are: awaiting them would cost a microtask each on the hot path.
    const state = new ProviderState(availability, input.userId);

    let cloudAvailable: boolean | undefined;
    if (rules.needsCloudState) {
      cloudAvailable = false;
      for (const p of PROVIDER_NAMES) {
        if (!availability.isLocal(p) && (await state.isHealthy(p)) && (await state.hasCredential(p))) {
          cloudAvailable = true;
          break;
        }
      }
    }

    const ctx: MatchContext = {
      classification,
      channel: input.channel,
      agent: input.agent,
      costTier: input.costTier ?? TIER_BY_COMPLEXITY[classification.complexity],
      cloudAvailable,
    };
    const matched = firstMatch(rules.userRules, ctx, null) ?? firstMatch(rules.systemRules, ctx, true);
    const general = matched ? null : firstMatch(rules.systemRules, ctx, false);

    const candidates: Candidate[] = [];
    // Candidates are built field by field: spreading a parsed rule's objects is by far the slowest step of a decision.
    if (input.pin) candidates.push({ provider: input.pin.provider, model: input.pin.model, origin: 'pin', rule: null });
    if (!matched) for (const m of input.agent?.preferredModels ?? []) candidates.push({ provider: m.provider, model: m.model, origin: 'agent', rule: null });
    const ruled = matched ?? general;
    if (ruled) {
      candidates.push({ provider: ruled.rule.action.routeTo.provider, model: ruled.rule.action.routeTo.model, origin: 'rule', rule: ruled });
      for (const f of ruled.rule.fallbacks) candidates.push({ provider: f.provider, model: f.model, origin: 'rule-fallback', rule: ruled });
    }
    for (const f of this.options.fallbackChain) candidates.push({ provider: f.provider, model: f.model, origin: 'chain', rule: null });
    if (localOnly) {
      const locals = directory
        .list()
        .filter((m) => availability.isLocal(m.provider) && !m.embedding)
        .sort((a, b) => b.contextWindow - a.contextWindow || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const m of locals) candidates.push({ provider: m.provider, model: m.id, origin: 'local', rule: null });
    }
    // The rules may name nothing the budget allows; these give the cheap models a chance before refusing.
    if (budget) for (const m of withinBudget(directory.list(), budget)) candidates.push({ provider: m.provider, model: m.id, origin: 'budget', rule: null });

    const matchedRule = matched ?? general;
    const ruleRef = matchedRule ? { id: matchedRule.rule.id, name: matchedRule.rule.name } : null;
    const tried: FallbackTried[] = [];
    const seen = new Set<string>();
    let chosen: Candidate | null = null;
    const now = (this.options.clock ?? Date.now)();

    for (const c of candidates) {
      const key = ref(c);
      if (seen.has(key)) continue;
      seen.add(key);
      let why = input.avoid?.find((a) => a.provider === c.provider && a.model === c.model)?.why ?? staticUnfitness(c, localOnly, budget, budgetLine, availability, directory, classification.capabilities, now);
      // A provider that is switched off is not "down": the notice says which is true.
      if (why === null && availability.isEnabled && !availability.isEnabled(c.provider)) why = `${c.provider} is not enabled on this server`;
      if (why === null) {
        const up = state.isHealthy(c.provider);
        if (!(up instanceof Promise ? await up : up)) why = `${c.provider} is down`;
      }
      if (why === null) {
        const key = state.hasCredential(c.provider);
        if (!(key instanceof Promise ? await key : key)) why = input.userId ? `no usable ${c.provider} API key for this user` : `no ${c.provider} API key configured`;
      }
      if (why === null) {
        chosen = c;
        break;
      }
      tried.push({ provider: c.provider, model: c.model, why });
    }

    const classificationOut = {
      taskType: classification.taskType,
      complexity: classification.complexity,
      domain: classification.domain,
      capabilities: classification.capabilities,
      confidence: classification.confidence,
    };
    const classifiedAs = `${classification.taskType}, ${classification.complexity}, confidence ${classification.confidence.toFixed(2)}${classification.source === 'model' ? ' (classifier model)' : ''}`;
    const notes: string[] = [];
    if (classification.note) notes.push(classification.note);

    if (!chosen) {
      // The budget is named as the cause only when it set a candidate aside; under local-only the data policy already had.
      const budgetBlocked = budget !== null && tried.some((t) => t.why === budgetLine);
      const code = budgetBlocked && budget.state === 'exhausted' ? 'budget_exhausted' : localOnly ? 'local_only_unavailable' : 'no_usable_provider';
      const reasons = [...new Set(tried.map((t) => t.why))].filter((w) => w !== budgetLine);
      const userNotice =
        code === 'budget_exhausted'
          ? budgetExhaustedNotice(budget!)
          : localOnly
            ? 'This conversation is local-only and no local model (Ollama) is available right now, so nothing was sent to a cloud provider. Start Ollama (or pull a model) and try again.'
            : budgetBlocked
              ? `Your monthly budget is ${budgetUsage(budget!)}, so only economy models answer until it resets on ${resetDate(budget!)}, and none can take this message right now (${reasons.slice(0, 4).join('; ') || 'no candidates'}). Raise your budget (/budget 30 in any conversation, PATCH /api/me {"monthlyBudgetUsd": …}, or ask an admin) or try again later.`
              : `No model can take this message right now (${reasons.slice(0, 4).join('; ') || 'no candidates'}). Add an API key with your provider settings or try again later.`;
      return {
        outcome: 'refused',
        code,
        userNotice,
        rule: ruleRef,
        reason: [`classified as ${classifiedAs}`, ruleRef ? `rule "${ruleRef.name}" matched` : 'no rule matched', `every candidate was unusable (${tried.length} tried)`, ...(budgetLine ? [budgetLine] : []), ...notes].join('; '),
        classification: classificationOut,
        fallbacksTried: tried,
      };
    }

    const parts: string[] = [];
    const pinTried = input.pin ? tried.find((t) => t.provider === input.pin!.provider && t.model === input.pin!.model) : undefined;
    if (chosen.origin === 'pin') parts.push(`pinned with /model to ${ref(chosen)}`);
    else {
      if (pinTried && pinTried.why === budgetLine) parts.push(`the monthly budget wins over the /model pin ${ref(pinTried)} (${budgetLine}), routed by the rules instead`);
      else if (pinTried) parts.push(`pinned model ${ref(pinTried)} is unusable (${pinTried.why}), routed by the rules instead`);
      const skipped = tried.filter((t) => t !== pinTried);
      if (chosen.origin === 'agent') parts.push(`no user rule or rule for this agent matched; agent "${input.agent!.name}" has preferred models (${classifiedAs})`);
      else parts.push(ruleRef ? `rule "${ruleRef.name}" matched (${classifiedAs})` : `no rule matched (${classifiedAs})`);
      if (skipped.length > 0) parts.push(`${skipped.map((t) => `${ref(t)} skipped: ${t.why}`).join('; ')}; used ${ORIGIN_LABEL[chosen.origin]} ${ref(chosen)}`);
      else if (chosen.origin === 'agent') parts.push(`used ${ORIGIN_LABEL.agent} ${ref(chosen)}`);
    }
    if (localOnly) parts.push('local-only data policy: only local providers are considered');
    if (budgetLine) parts.push(budgetLine);
    parts.push(...notes);

    const action = chosen.rule && (chosen.origin === 'rule' || chosen.origin === 'rule-fallback') ? chosen.rule.rule.action.routeTo : null;
    const agent = decisionAgent(input, action);
    const info = directory.find(chosen.provider, chosen.model);
    return {
      outcome: 'routed',
      provider: chosen.provider,
      model: chosen.model,
      agent,
      // The rule that decided: none when a pin or the agent's own preference won.
      rule: chosen.origin === 'pin' || chosen.origin === 'agent' ? null : ruleRef,
      reason: parts.join('; '),
      classification: classificationOut,
      fallbacksTried: tried,
      ...(info ? { estimatedCostTier: info.tier } : {}),
    };
  }
}

/** The first rule that matches; `targetsAgent` (unless null) keeps only the rules that do, or do not, name an agent. */
function firstMatch(list: CompiledRule[], ctx: MatchContext, targetsAgent: boolean | null): CompiledRule | null {
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if ((targetsAgent === null || r.targetsAgent === targetsAgent) && r.matches(ctx)) return r;
  }
  return null;
}

function decisionAgent(input: RoutingInput, action: { agentConfigId?: string | undefined; systemPromptOverride?: string | undefined; toolAllowlist?: string[] | undefined } | null): DecisionAgent | null {
  const base: DecisionAgent | null = action?.agentConfigId
    ? { id: action.agentConfigId, name: input.agent?.id === action.agentConfigId ? input.agent.name : null }
    : input.agent
      ? { id: input.agent.id, name: input.agent.name }
      : null;
  if (!action?.systemPromptOverride && !action?.toolAllowlist) return base;
  const out: DecisionAgent = base ?? { id: null, name: null };
  if (action.systemPromptOverride) out.systemPromptOverride = action.systemPromptOverride;
  if (action.toolAllowlist) {
    const agentTools = input.agent?.tools;
    // An agent never gains tools it does not declare: the allowlist narrows, it cannot widen.
    out.toolAllowlist = agentTools && !action.agentConfigId ? action.toolAllowlist.filter((t) => agentTools.includes(t)) : [...action.toolAllowlist];
  }
  return out;
}

// Parsed once per distinct date: this runs for every candidate of every decision.
const retirementTimes = new Map<string, number>();
function retirementTime(iso: string): number {
  let t = retirementTimes.get(iso);
  if (t === undefined) {
    t = Date.parse(iso);
    if (retirementTimes.size < 1000) retirementTimes.set(iso, t);
  }
  return t;
}

/** True from the day the provider retires the model: routing never picks it, and nothing should offer it. */
export function isRetired(info: Pick<ModelInfo, 'retiresAt'>, now: number): boolean {
  return info.retiresAt !== undefined && retirementTime(info.retiresAt) <= now;
}

const isFree = (m: ModelInfo) => m.inputPricePerMTok === 0 && m.outputPricePerMTok === 0;

function allowedByBudget(m: ModelInfo, budget: BudgetStatus): boolean {
  return isFree(m) || (budget.state === 'economy' && m.tier === 'economy');
}

/**
 * What the budget still allows, for when the rules name none of it: paid
 * economy models cheapest first, then free ones largest context first —
 * a deterministic order, ties broken by id.
 */
function withinBudget(models: readonly ModelInfo[], budget: BudgetStatus): ModelInfo[] {
  const price = (m: ModelInfo) => m.inputPricePerMTok + m.outputPricePerMTok;
  const byId = (a: ModelInfo, b: ModelInfo) => ref({ provider: a.provider, model: a.id }).localeCompare(ref({ provider: b.provider, model: b.id }), 'en');
  const usable = models.filter((m) => !m.embedding && allowedByBudget(m, budget));
  const paid = usable.filter((m) => !isFree(m)).sort((a, b) => price(a) - price(b) || byId(a, b));
  const free = usable.filter(isFree).sort((a, b) => b.contextWindow - a.contextWindow || byId(a, b));
  return [...paid, ...free];
}

/** Why a candidate cannot take this message whatever the provider state, or null. */
function staticUnfitness(
  c: ModelRef,
  localOnly: boolean,
  budget: BudgetStatus | null,
  budgetLine: string | null,
  availability: ProviderAvailability,
  directory: ModelDirectory,
  caps: Classification['capabilities'],
  now: number,
): string | null {
  if (localOnly && !availability.isLocal(c.provider)) return 'data policy is local-only: cloud providers are never used';
  const info = directory.find(c.provider, c.model);
  if (!info) return 'not in the model catalogue';
  // The provider refuses a retired model; skipping it here keeps a stale rule from costing a failed call.
  if (isRetired(info, now)) return `retired by the provider on ${info.retiresAt!.slice(0, 10)}`;
  if (info.embedding) return 'an embedding model cannot chat';
  if (budget && !allowedByBudget(info, budget)) return budgetLine;
  if (caps.vision && !info.vision) return 'cannot read images';
  if (caps.tools && !info.tools) return 'no tool use';
  if (caps.minContextWindow > info.contextWindow) return `context window ${info.contextWindow} tokens is smaller than the ~${caps.minContextWindow} needed`;
  return null;
}

/**
 * One decision's view of provider health and credentials: each is asked at
 * most once per provider. A check that throws or rejects counts as "no",
 * never as a routing failure. (A class, not closures: this is built for
 * every decision.)
 */
class ProviderState {
  private readonly healthy = new Map<ProviderName, boolean>();
  private readonly credential = new Map<ProviderName, boolean>();

  constructor(
    private readonly availability: ProviderAvailability,
    private readonly userId: string | null,
  ) {}

  isHealthy(p: ProviderName): boolean | Promise<boolean> {
    const known = this.healthy.get(p);
    if (known !== undefined) return known;
    let raw: Promise<boolean> | boolean;
    try {
      raw = this.availability.isHealthy(p, this.userId);
    } catch {
      raw = false;
    }
    return settle(this.healthy, p, raw);
  }

  hasCredential(p: ProviderName): boolean | Promise<boolean> {
    const known = this.credential.get(p);
    if (known !== undefined) return known;
    let raw: Promise<boolean> | boolean;
    try {
      raw = this.availability.hasCredential(this.userId, p);
    } catch {
      raw = false;
    }
    return settle(this.credential, p, raw);
  }
}

/** Records an answer (true only when it is exactly true; a rejection is false). */
function settle(into: Map<ProviderName, boolean>, p: ProviderName, raw: Promise<boolean> | boolean): boolean | Promise<boolean> {
  if (raw instanceof Promise) {
    return raw.then(
      (v) => (into.set(p, v === true), v === true),
      () => (into.set(p, false), false),
    );
  }
  into.set(p, raw === true);
  return raw === true;
}
