/**
 * Routing as the rest of Mosaic uses it: load the user's visible rules,
 * compile them (cached per rule version), apply the user's data policy,
 * and run the decision pipeline. `createRoutingService` builds one from
 * the database, the config and the provider layer's two ports.
 */
import type { MosaicConfig } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import { MosaicError } from '../errors.ts';
import { UserStore } from '../identity/user-store.ts';
import type { ClassificationCache } from './classification-cache.ts';
import { ClassifierService, type ModelClassify } from './classifier-service.ts';
import { RuleCompiler } from './rule-matcher.ts';
import { RuleStore } from './rule-store.ts';
import { Router } from './router.ts';
import type { ModelDirectory, ProviderAvailability, RoutingInput, RoutingRefusal, RoutingResult } from './types.ts';

export type UserPolicyLookup = (userId: string) => Promise<{ localOnly: boolean }>;

export class RoutingService {
  private readonly compiler = new RuleCompiler();

  constructor(
    readonly rules: RuleStore,
    readonly router: Router,
    private readonly userPolicy?: UserPolicyLookup,
  ) {}

  async route(input: RoutingInput): Promise<RoutingResult> {
    const [sets, policy] = await Promise.all([
      this.rules.rulesFor(input.userId),
      input.userId && this.userPolicy ? this.userPolicy(input.userId) : Promise.resolve({ localOnly: false }),
    ]);
    // A user marked local-only stays local whatever the conversation says.
    return this.router.decide({ ...input, localOnly: input.localOnly === true || policy.localOnly }, this.compiler.compileSet(sets));
  }
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
  /** For retirement dates; tests pass their own. */
  clock?: () => number;
}

export function createRoutingService(options: CreateRoutingServiceOptions): RoutingService {
  const classifier = new ClassifierService({
    config: options.routing.classifierModel,
    ...(options.modelClassify ? { modelClassify: options.modelClassify } : {}),
    ...(options.classificationCache ? { cache: options.classificationCache } : {}),
  });
  const router = new Router({ directory: options.directory, availability: options.availability, classifier, fallbackChain: options.routing.fallbackChain, ...(options.clock ? { clock: options.clock } : {}) });
  const users = new UserStore(options.db);
  const userPolicy: UserPolicyLookup = async (userId) => ({ localOnly: (await users.findById(userId))?.localOnly ?? false });
  return new RoutingService(new RuleStore(options.db), router, userPolicy);
}

/** For callers that prefer an exception (the agent runner): the refusal as a MosaicError carrying its user notice. */
export function refusalError(refusal: RoutingRefusal): MosaicError {
  return new MosaicError(refusal.code, refusal.reason, { httpStatus: 503, retryable: true, userNotice: refusal.userNotice, details: { fallbacksTried: refusal.fallbacksTried } });
}
