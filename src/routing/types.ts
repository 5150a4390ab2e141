/**
 * The vocabulary of routing: what the classifier says about a message, what
 * a rule looks like once validated, what the pipeline decides, and the two
 * small ports (model directory, provider availability) it depends on, so
 * the provider layer can be adapted to it and tests can drive it.
 */
import type { ModelInfo, ProviderName } from '../providers/types.ts';
import type { BudgetStatus } from './budget.ts';

export type { BudgetStatus, ModelInfo, ProviderName };

export const TASK_TYPES = ['coding', 'research', 'summarization', 'qa', 'conversation', 'creative', 'analysis', 'translation'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const COMPLEXITIES = ['simple', 'moderate', 'complex'] as const;
export type Complexity = (typeof COMPLEXITIES)[number];

export const COST_TIERS = ['economy', 'standard', 'premium'] as const;
export type CostTier = (typeof COST_TIERS)[number];

export const CAPABILITIES = ['tools', 'vision', 'longContext'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface RequiredCapabilities {
  tools: boolean;
  vision: boolean;
  /** Tokens the model must hold: the estimated input plus room for the answer. */
  minContextWindow: number;
}

export interface Classification {
  taskType: TaskType;
  complexity: Complexity;
  domain: string;
  capabilities: RequiredCapabilities;
  confidence: number;
  /** Who decided: the deterministic rules, or the classifier model. */
  source: 'rules' | 'model';
  /** Set when the classifier model was wanted but could not answer. */
  note?: string;
}

export interface Attachment {
  name: string;
  mimeType: string;
  sizeBytes?: number;
}

export interface ModelRef {
  provider: ProviderName;
  model: string;
}

/** What an agent declares about itself; rules can target agents by id or name. */
export interface AgentProfile {
  id: string;
  name: string;
  domains?: string[];
  /** Tried after the user's rules and the system rules that name this agent. */
  preferredModels?: ModelRef[];
  tools?: string[];
}

/** Everything the pipeline looks at for one message. */
export interface RoutingInput {
  /** null: no user (the CLI without --user); only system rules and system keys apply. */
  userId: string | null;
  text: string;
  attachments?: Attachment[];
  channel?: string;
  agent?: AgentProfile | null;
  /** A `/model` pin of the conversation; wins over every rule. */
  pin?: ModelRef | null;
  /** The conversation or the user is marked local-only. */
  localOnly?: boolean;
  /** A cost tier asked for (a user preference or budget); otherwise derived from complexity. */
  costTier?: CostTier;
  /** Models that just failed this message: skipped with their reason, so the next candidate answers. */
  avoid?: FallbackTried[];
  /**
   * The user's monthly budget and this month's spend, looked up once by the
   * routing service; economy or exhausted narrows the candidates, pins included.
   */
  budget?: BudgetStatus | null;
}

export interface FallbackTried {
  provider: ProviderName;
  model: string;
  why: string;
}

export interface DecisionClassification {
  taskType: TaskType;
  complexity: Complexity;
  domain: string;
  capabilities: RequiredCapabilities;
  confidence: number;
}

export interface DecisionAgent {
  id: string | null;
  name: string | null;
  systemPromptOverride?: string;
  toolAllowlist?: string[];
}

interface OutcomeCommon {
  rule: { id: string; name: string } | null;
  reason: string;
  classification: DecisionClassification;
  fallbacksTried: FallbackTried[];
  estimatedCostTier?: CostTier;
}

export interface RoutingDecision extends OutcomeCommon {
  outcome: 'routed';
  provider: ProviderName;
  model: string;
  agent: DecisionAgent | null;
}

/** No provider can take the message: a result to show, never an exception. */
export interface RoutingRefusal extends OutcomeCommon {
  outcome: 'refused';
  code: 'no_usable_provider' | 'local_only_unavailable' | 'budget_exhausted';
  /** The sentence shown to the person in their chat or terminal. */
  userNotice: string;
}

export type RoutingResult = RoutingDecision | RoutingRefusal;

/** The models the router may pick from (the capability matrix). */
export interface ModelDirectory {
  find(provider: ProviderName, model: string): ModelInfo | undefined;
  list(): ModelInfo[];
}

/** Live state the router consults; answers may be sync or async. */
export interface ProviderAvailability {
  /** Usable for this user (null: as the system sees it); a user's own failing key counts only for them. */
  isHealthy(provider: ProviderName, userId?: string | null): Promise<boolean> | boolean;
  /** A usable credential for this user: their own key or the system's (userId null: the system's only). */
  hasCredential(userId: string | null, provider: ProviderName): Promise<boolean> | boolean;
  isLocal(provider: ProviderName): boolean;
  /** Whether the provider is enabled on this server at all; without it, a disabled provider reads as not healthy. */
  isEnabled?(provider: ProviderName): boolean;
}
