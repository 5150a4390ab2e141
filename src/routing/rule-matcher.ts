/**
 * Turns rules into closures once, so matching a message is a handful of
 * Set lookups per rule: the router must decide tens of thousands of times a
 * second without re-reading rule JSON.
 */
import type { Condition, RoutingRule } from './rule-schema.ts';
import type { AgentProfile, Classification, CostTier } from './types.ts';

export interface MatchContext {
  classification: Classification;
  channel: string | undefined;
  agent: AgentProfile | null | undefined;
  costTier: CostTier;
  /** Only computed when some rule asks (see CompiledRuleSet.needsCloudState). */
  cloudAvailable: boolean | undefined;
}

type Test = (ctx: MatchContext) => boolean;

export interface CompiledRule {
  rule: RoutingRule;
  /** The rule names an agent: it is more specific than the agent's own preferences. */
  targetsAgent: boolean;
  matches: Test;
}

export interface CompiledRuleSet {
  /** The user's own rules, then system rules, each by priority. */
  userRules: CompiledRule[];
  systemRules: CompiledRule[];
  needsCloudState: boolean;
}

const toSet = (value: string | readonly string[]): Set<string> => new Set(typeof value === 'string' ? [value] : value);
const lowerSet = (value: string | readonly string[]): Set<string> => new Set([...toSet(value)].map((v) => v.toLowerCase()));

function compileCondition(c: Condition): Test {
  switch (c.type) {
    case 'taskType': {
      const s = toSet(c.value);
      return (ctx) => s.has(ctx.classification.taskType);
    }
    case 'complexity': {
      const s = toSet(c.value);
      return (ctx) => s.has(ctx.classification.complexity);
    }
    case 'domain': {
      const s = lowerSet(c.value);
      return (ctx) => s.has(ctx.classification.domain) || (ctx.agent?.domains?.some((d) => s.has(d.toLowerCase())) ?? false);
    }
    case 'costTier': {
      const s = toSet(c.value);
      return (ctx) => s.has(ctx.costTier);
    }
    case 'requires': {
      const wantTools = toSet(c.value).has('tools');
      const wantVision = toSet(c.value).has('vision');
      return (ctx) => (wantTools && ctx.classification.capabilities.tools) || (wantVision && ctx.classification.capabilities.vision);
    }
    case 'minContextWindow': {
      const min = c.value;
      return (ctx) => ctx.classification.capabilities.minContextWindow >= min;
    }
    case 'channel': {
      const s = lowerSet(c.value);
      return (ctx) => ctx.channel !== undefined && s.has(ctx.channel.toLowerCase());
    }
    case 'agent': {
      const s = lowerSet(c.value);
      return (ctx) => !!ctx.agent && (s.has(ctx.agent.id.toLowerCase()) || s.has(ctx.agent.name.toLowerCase()));
    }
    case 'cloudAvailable': {
      const want = c.value;
      return (ctx) => ctx.cloudAvailable === want;
    }
  }
}

export function compileRule(rule: RoutingRule): CompiledRule {
  const tests = rule.conditions.map(compileCondition);
  const targetsAgent = rule.conditions.some((c) => c.type === 'agent');
  let matches: Test;
  if (tests.length === 0) matches = () => true;
  else if (tests.length === 1) matches = tests[0]!;
  // A plain loop: this runs for every rule of every decision, and `every` costs a callback per condition.
  else
    matches = (ctx) => {
      for (let i = 0; i < tests.length; i++) if (!tests[i]!(ctx)) return false;
      return true;
    };
  return { rule, targetsAgent, matches };
}

/** Lower priority numbers are tried first; ties break by name then id, so order never depends on storage. */
export function compareRules(a: RoutingRule, b: RoutingRule): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Compiled rules keyed by id and last update, so an unchanged rule is compiled once per process. */
export class RuleCompiler {
  private readonly cache = new Map<string, CompiledRule>();

  constructor(private readonly maxEntries = 10_000) {}

  compile(rule: RoutingRule): CompiledRule {
    const key = `${rule.id}:${rule.updatedAt?.getTime() ?? JSON.stringify(rule)}`;
    let compiled = this.cache.get(key);
    if (!compiled) {
      compiled = compileRule(rule);
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, compiled);
    }
    return compiled;
  }

  compileSet(rules: { userRules: RoutingRule[]; systemRules: RoutingRule[] }): CompiledRuleSet {
    return compileRuleSet(rules, (r) => this.compile(r));
  }
}

export function compileRuleSet(rules: { userRules: RoutingRule[]; systemRules: RoutingRule[] }, compile: (r: RoutingRule) => CompiledRule = compileRule): CompiledRuleSet {
  const prepare = (list: RoutingRule[]) => list.filter((r) => r.enabled).sort(compareRules).map(compile);
  const userRules = prepare(rules.userRules);
  const systemRules = prepare(rules.systemRules);
  const needsCloudState = [...userRules, ...systemRules].some((c) => c.rule.conditions.some((cond) => cond.type === 'cloudAvailable'));
  return { userRules, systemRules, needsCloudState };
}
