/**
 * The conversation services, built together. Each has one job:
 *
 * - `api`: the conversation as users change it (create, rename, archive,
 *   delete, agents, budgets, routing state);
 * - `inbound`: messages from any surface — stored once, published, run as
 *   a command or queued for an answer;
 * - `answers`: the answering path (answering/): lease, route, attempt,
 *   fail over, store the turn, stream it;
 * - `summaries`: fitting the context window, the running summary;
 * - `sessionInfo`: what the conversation talks to now.
 *
 * Surfaces (REST, sockets, Matrix, commands) take the services they need.
 */
import type { AgentStore } from '../agents/agent-store.ts';
import type { AgentTool } from '../agents/tool.ts';
import { DelegationService, type DelegationDeps, type DelegationSettings } from '../agents/delegation/delegation-service.ts';
import type { DelegationStore } from '../agents/delegation/delegation-store.ts';
import type { PairRateLimiter } from '../agents/delegation/pair-rate-limit.ts';
import type { CommandRegistry } from '../commands/registry.ts';
import type { Logger } from '../logging.ts';
import type { ModelDirectory } from '../routing/types.ts';
import { AnswerAttempts } from './answering/answer-attempt.ts';
import { AnswerService } from './answering/answer-service.ts';
import { TurnRecords } from './answering/turn-records.ts';
import { CallLedger } from './call-ledger.ts';
import { ConversationAgents } from './conversation-agents.ts';
import { ConversationApi } from './conversation-api.ts';
import type { ConversationBus } from './conversation-bus.ts';
import { ConversationEvents } from './conversation-events.ts';
import type { ConversationLock } from './conversation-lock.ts';
import type { ConversationStore } from './conversation-store.ts';
import { InboundService } from './inbound-service.ts';
import { Notices } from './notices.ts';
import type { ActorLookup, AnswerTries, ConversationSettings, ErasureScheduler, ProviderPort, ReplyScheduler, RoutingPort, UserSettingsPort } from './ports.ts';
import { SessionInfoService } from './session-info.ts';
import type { SessionStore } from './session-store.ts';
import type { TurnStore } from './turn-store.ts';
import { SummaryService } from './summary-service.ts';
import { NO_METRICS, type MetricsPort } from '../metrics/metrics-port.ts';

export interface ConversationServiceDeps {
  conversations: ConversationStore;
  agents: AgentStore;
  sessions: SessionStore;
  /** The answer's one write (messages, usage, session metrics, last routing). */
  turns: TurnStore;
  bus: ConversationBus;
  lock: ConversationLock;
  routing: RoutingPort;
  userSettings: UserSettingsPort;
  providers: ProviderPort;
  directory: ModelDirectory;
  commands: CommandRegistry;
  replies: ReplyScheduler;
  /** Erases deleted conversations (retention); without it a deletion only hides the conversation. */
  erasure?: ErasureScheduler;
  /** Tools by name; an agent gets those its config lists. */
  tools: Map<string, AgentTool>;
  actorFor: ActorLookup;
  settings: ConversationSettings;
  /** Agents handing work to each other: their record, the per-pair rate limit, the limits. */
  delegation: { store: DelegationStore; pairs: PairRateLimiter; settings: DelegationSettings; queue: DelegationDeps['queue'] };
  logger: Logger;
  /** Where answers and model calls are counted for the operator. */
  metrics?: MetricsPort;
  /** Counts tries at each answer across crashes (a retry is announced; a third try is refused). */
  tries?: AnswerTries;
}

export interface ConversationServices {
  api: ConversationApi;
  inbound: InboundService;
  answers: AnswerService;
  summaries: SummaryService;
  sessionInfo: SessionInfoService;
  /** Agents handing tasks and questions to each other while answering. */
  delegation: DelegationService;
  /** Mosaic's own notices in a conversation (reply recovery gives up with one). */
  notices: Notices;
  /** The stores, for reads that need no service logic (lists, search, messages). */
  stores: { conversations: ConversationStore; agents: AgentStore; sessions: SessionStore };
}

export function createConversationServices(deps: ConversationServiceDeps): ConversationServices {
  const { conversations, sessions, directory, settings, logger } = deps;
  const events = new ConversationEvents(deps.bus, logger);
  const agents = new ConversationAgents(deps.agents);
  const metrics = deps.metrics ?? NO_METRICS;
  const ledger = new CallLedger(sessions, directory, metrics);
  const notices = new Notices(conversations, events);
  const sessionInfo = new SessionInfoService({ conversations, sessions, agents, events });
  const api = new ConversationApi({ conversations, agents, sessionInfo, events, routing: deps.routing, userSettings: deps.userSettings, directory, ...(deps.erasure ? { erasure: deps.erasure } : {}) });
  const inbound = new InboundService({ conversations, api, commands: deps.commands, replies: deps.replies, notices, events, actorFor: deps.actorFor });
  const summaries = new SummaryService({
    conversations,
    sessions,
    agents,
    lock: deps.lock,
    routing: deps.routing,
    providers: deps.providers,
    directory,
    ledger,
    actorFor: deps.actorFor,
    settings,
    hasTool: (name) => deps.tools.has(name),
    logger,
  });
  const records = new TurnRecords({ conversations, turns: deps.turns, ledger, sessionInfo, events });
  const delegation = new DelegationService({
    agents: deps.agents,
    store: deps.delegation.store,
    pairs: deps.delegation.pairs,
    routing: deps.routing,
    providers: deps.providers,
    ledger,
    notices,
    tools: deps.tools,
    directory,
    settings: deps.delegation.settings,
    queue: deps.delegation.queue,
    actorFor: deps.actorFor,
    logger,
  });
  const attempts = new AnswerAttempts({ sessions, providers: deps.providers, summaries, records, delegation, settings });
  const answers = new AnswerService({ conversations, agents, lock: deps.lock, routing: deps.routing, directory, attempts, records, notices, events, actorFor: deps.actorFor, settings, logger, metrics, ...(deps.tries ? { tries: deps.tries } : {}) });
  return { api, inbound, answers, summaries, sessionInfo, delegation, notices, stores: { conversations, agents: deps.agents, sessions } };
}
