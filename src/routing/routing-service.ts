/**
 * Routing as the rest of Mosaic uses it: load the user's visible rules,
 * compile them (cached per rule version), apply the user's data policy and
 * monthly budget, and run the decision pipeline. `createRoutingService` builds one from
 * the database, the config and the provider layer's two ports.
 */
import type { MosaicConfig } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import { MosaicError } from '../errors.ts';
import { SessionStore } from '../conversations/session-store.ts';
import { UserStore } from '../identity/user-store.ts';
import { budgetStatus, monthStart, type BudgetStatus } from './budget.ts';
import type { ClassificationCache } from './classification-cache.ts';
import { ClassifierService, type ModelClassify } from './classifier-service.ts';
import { RuleCompiler } from './rule-matcher.ts';
import { RuleStore } from './rule-store.ts';
import { RuleCache } from './rule-cache.ts';
import { Router } from './router.ts';
import type { ModelDirectory, ProviderAvailability, RoutingInput, RoutingRefusal, RoutingResult } from './types.ts';
import type { RoutingRule } from './rule-schema.ts';
import type { MetricsPort, RoutingRecord } from '../metrics/metrics-port.ts';

export interface UserPolicy {
  localOnly: boolean;
  /** null: no budget applies (none of their own and no configured default). */
  budget: BudgetStatus | null;
}

/** A user's settings routing reads, when the caller has already read them (the answering path). */
export interface KnownUser {
  id: string;
  localOnly: boolean;
  monthlyBudgetUsd: number | null;
}

/** One lookup per decision: the user's data policy and budget standing (`known`: the user's row, already read). */
export type UserPolicyLookup = (userId: string, known?: KnownUser) => Promise<UserPolicy>;

const NO_POLICY: UserPolicy = { localOnly: false, budget: null };

export class RoutingService {
  private readonly compiler = new RuleCompiler();
  /** The rules per user, read once and kept until a rule changes (here or, told over Valkey, on another replica). */
  private readonly cache: RuleCache;

  constructor(
    readonly rules: RuleStore,
    readonly router: Router,
    private readonly userPolicy?: UserPolicyLookup,
    private readonly metrics?: Pick<MetricsPort, 'routingDecision'>,
  ) {
    this.cache = new RuleCache((userId) => rules.rulesFor(userId));
    rules.onChange(() => this.cache.invalidate());
  }

  /** Drops the cached rules (another replica changed one). */
  invalidateRules(): void {
    this.cache.invalidate();
  }

  /** `record`: a decision for a message, counted in the metrics (a dry run such as explain is not). */
  async route(input: RoutingInput, options: { record?: boolean; user?: KnownUser } = {}): Promise<RoutingResult> {
    const [sets, policy] = await Promise.all([this.cache.rulesFor(input.userId), this.policyOf(input.userId, options.user)]);
    // A user marked local-only stays local whatever the conversation says; the budget is always the ledger's, never the caller's.
    const result = await this.router.decide({ ...input, localOnly: input.localOnly === true || policy.localOnly, budget: policy.budget }, this.compiler.compileSet(sets));
    if (options.record) this.metrics?.routingDecision({ outcome: result.outcome === 'routed' ? 'routed' : result.code, skipped: result.fallbacksTried.length, by: decidedBy(result, input, sets.userRules) });
    return result;
  }

  /** The user's budget, this month's spend and its state; null when no budget applies. */
  async budgetFor(userId: string): Promise<BudgetStatus | null> {
    return (await this.policyOf(userId)).budget;
  }

  private policyOf(userId: string | null, known?: KnownUser): Promise<UserPolicy> {
    return userId && this.userPolicy ? this.userPolicy(userId, known?.id === userId ? known : undefined) : Promise.resolve(NO_POLICY);
  }
}

/** Which rule decided, for the metrics: users' own rules are one value, whoever wrote them. */
function decidedBy(result: RoutingResult, input: RoutingInput, userRules: RoutingRule[]): RoutingRecord['by'] {
  if (result.rule) return userRules.some((r) => r.id === result.rule!.id) ? { kind: 'user' } : { kind: 'system', name: result.rule.name };
  const pinned = result.outcome === 'routed' && input.pin && input.pin.provider === result.provider && input.pin.model === result.model;
  return pinned ? { kind: 'pin' } : { kind: 'none' };
}

export interface CreateRoutingServiceOptions {
  db: Db;
  routing: MosaicConfig['routing'];
  directory: ModelDirectory;
  availability: ProviderAvailability;
  /** The cheap classifier model, when `routing.classifierModel.enabled`. */
  modelClassify?: ModelClassify;
  /** Where classifier-model answers are cached (Valkey in production); an LRU otherwise. */
  classificationCache?: ClassificationCache;
  /** For retirement dates and the budget's month; tests pass their own. */
  clock?: () => number;
  /** Where decisions made for messages are counted. */
  metrics?: Pick<MetricsPort, 'routingDecision'>;
}

export function createRoutingService(options: CreateRoutingServiceOptions): RoutingService {
  const classifier = new ClassifierService({
    config: options.routing.classifierModel,
    ...(options.modelClassify ? { modelClassify: options.modelClassify } : {}),
    ...(options.classificationCache ? { cache: options.classificationCache } : {}),
  });
  const router = new Router({ directory: options.directory, availability: options.availability, classifier, fallbackChain: options.routing.fallbackChain, ...(options.clock ? { clock: options.clock } : {}) });
  const users = new UserStore(options.db);
  const sessions = new SessionStore(options.db);
  const { defaultMonthlyUsd, economyAt } = options.routing.budgets;
  const clock = options.clock ?? Date.now;
  const userPolicy: UserPolicyLookup = async (userId, known) => {
    const row = known ?? (await users.findById(userId));
    if (!row) return NO_POLICY;
    const own = row.monthlyBudgetUsd;
    const monthlyUsd = own ?? defaultMonthlyUsd;
    // Users without a budget (most) cost no ledger query.
    if (monthlyUsd === undefined) return { localOnly: row.localOnly, budget: null };
    const now = clock();
    // The ledger reads by user id only; this is a system read on the user's behalf.
    const spent = await sessions.userUsage({ userId: row.id, role: 'member', username: '' }, monthStart(now));
    return { localOnly: row.localOnly, budget: budgetStatus({ monthlyUsd, source: own !== null ? 'user' : 'default', spentUsd: spent.costUsd, economyAt, now }) };
  };
  return new RoutingService(new RuleStore(options.db), router, userPolicy, options.metrics);
}

/** For callers that prefer an exception (the agent runner): the refusal as a MosaicError carrying its user notice. */
export function refusalError(refusal: RoutingRefusal): MosaicError {
  return new MosaicError(refusal.code, refusal.reason, { httpStatus: 503, retryable: true, userNotice: refusal.userNotice, details: { fallbacksTried: refusal.fallbacksTried } });
}
