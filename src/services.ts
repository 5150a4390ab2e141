/**
 * Builds the gateway's services on top of the core connections: providers
 * and their health, routing, memory, conversations, commands, and the job
 * system that answers messages and runs housekeeping.
 */
import type { MosaicConfig } from './config/schema.ts';
import type { Database } from './db/client.ts';
import type { Logger } from './logging.ts';
import type { Redis } from './valkey/client.ts';
import type { Actor } from './identity/actor.ts';
import { actorOf, UserStore, type UserRow } from './identity/user-store.ts';
import type { CredentialStore } from './identity/credential-store.ts';
import type { CredentialResolver } from './identity/credential-resolver.ts';
import { createProviderRegistry, type ProviderRegistry } from './providers/registry.ts';
import { createProviderHealth, type ProviderHealth } from './providers/health.ts';
import { ModelDirectory as ProviderModelDirectory } from './providers/model-directory.ts';
import { directoryWithOverrides } from './routing/catalogue-directory.ts';
import { configAvailability } from './routing/config-availability.ts';
import { createRoutingService, type KnownUser, type RoutingService } from './routing/routing-service.ts';
import { valkeyClassificationCache } from './routing/classification-cache.ts';
import { modelClassifier } from './agents/model-classifier.ts';
import type { ModelDirectory } from './routing/types.ts';
import { providerEmbedder, type Embedder } from './agents/embedder.ts';
import { MemoryStore } from './agents/memory-store.ts';
import { MemoryService } from './agents/memory-service.ts';
import { memoryTools } from './agents/tools/memory-tools.ts';
import type { AgentTool } from './agents/tool.ts';
import { AgentStore } from './agents/agent-store.ts';
import { DelegationStore } from './agents/delegation/delegation-store.ts';
import { valkeyPairRateLimiter } from './agents/delegation/pair-rate-limit.ts';
import { deliveryJob, deliveryJobId } from './agents/delegation/delivery-job.ts';
import { ConversationStore } from './conversations/conversation-store.ts';
import { SessionStore } from './conversations/session-store.ts';
import { ConversationBus } from './conversations/conversation-bus.ts';
import { ConversationLock } from './conversations/conversation-lock.ts';
import { createConversationServices, type ConversationServices } from './conversations/conversation-services.ts';
import type { ReplyScheduler } from './conversations/ports.ts';
import { CommandRegistry } from './commands/registry.ts';
import { coreCommands } from './commands/core-commands.ts';
import { createJobSystem, jobWithHandler, type JobSystem } from './jobs/job-system.ts';
import { PermanentJobError } from './jobs/job-definition.ts';
import { availableParallelism } from 'node:os';
import { defaultReplyConcurrency, REPLY_JOB } from './conversations/reply-job.ts';
import { TurnStore } from './conversations/turn-store.ts';
import { ValkeyInvalidation } from './valkey/invalidation.ts';
import { ReplyRecovery } from './conversations/reply-recovery.ts';
import { ensureJob } from './jobs/job-recovery.ts';
import { ProcessLiveness } from './valkey/liveness.ts';
import { valkeyKey } from './valkey/client.ts';
import { OutageLog, within } from './outage-log.ts';
import { IDENTITY_CHANGED_JOB, IdentityEvents } from './identity/identity-events.ts';
import { NO_METRICS, type MetricsPort } from './metrics/metrics-port.ts';
import { TeamStore } from './teams/team-store.ts';
import { TeamService } from './teams/team-service.ts';
import { TEAM_CHANGED_JOB, TeamEvents } from './teams/team-events.ts';
import { teamCommands } from './teams/team-commands.ts';
import { ChannelIdentityStore } from './identity/channel-identity-store.ts';

const RULES_TOPIC = 'routing-rules';
const AGENTS_TOPIC = 'agents';
const CREDENTIALS_TOPIC = 'credentials';
/** Per-message counters (tries, re-queues) outlive any recovery window. */
const COUNTER_TTL_MS = 86_400_000;
const COUNT_SCRIPT = "local n = redis.call('incr', KEYS[1]) redis.call('pexpire', KEYS[1], ARGV[1]) return n";
/** A reply job Valkey has not taken by then is left to recovery (the message is stored). */
const ENQUEUE_TIMEOUT_MS = 1500;
import { createRetention, type Retention } from './retention/retention.ts';
import { CONVERSATION_ERASE_JOB, conversationEraseJobId } from './retention/retention-jobs.ts';

export interface ServiceDeps {
  config: MosaicConfig;
  logger: Logger;
  database: Database;
  valkey: Redis;
  credentials: CredentialStore;
  credentialResolver: CredentialResolver;
  /** Tests replace the providers' retry sleep and backoff. */
  providerPolicy?: Parameters<typeof createProviderRegistry>[2];
  /** Where the operator's metrics are recorded (src/http/metrics.ts). */
  metrics?: MetricsPort;
}

export interface Services {
  providers: ProviderRegistry;
  health: ProviderHealth;
  models: ProviderModelDirectory;
  directory: ModelDirectory;
  routing: RoutingService;
  memory: MemoryService;
  tools: Map<string, AgentTool>;
  commands: CommandRegistry;
  conversations: ConversationServices;
  bus: ConversationBus;
  jobs: JobSystem;
  /** Where channels subscribe to links and unlinks (delivered by the `channel-identity-changed` job). */
  identityEvents: IdentityEvents;
  /** Teams, their members, and sharing conversations with them. */
  teams: TeamService;
  /** Where channels subscribe to team changes (delivered by the `team-changed` job). */
  teamEvents: TeamEvents;
  /** Runs one reply-recovery sweep now (it also runs at start and every `conversations.recoveryIntervalMs`). */
  recoverReplies(): Promise<void>;
  /** Retention policies, the purge, and the erasers channels register into. */
  retention: Retention;
  /** Cache invalidation across replicas (channels keep caches of their own, e.g. Matrix room members). */
  invalidation: ValkeyInvalidation;
  /** Starts workers and schedules. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function buildServices(deps: ServiceDeps): Services {
  const { config, logger, database, valkey } = deps;
  const metrics = deps.metrics ?? NO_METRICS;
  const db = database.db;
  const health = createProviderHealth(config, valkey, { logger });
  const healthListener = health.outcomeListener();
  const policy = deps.providerPolicy?.policy;
  const providers = createProviderRegistry(config, logger, {
    ...deps.providerPolicy,
    policy: {
      ...policy,
      onOutcome: (outcome) => (healthListener(outcome), metrics.providerCall(outcome)),
      onRetry: (retry) => (policy?.onRetry?.(retry), metrics.providerRetry(retry.provider, retry.error.kind)),
    },
  });
  health.bindRegistry(providers);
  const models = new ProviderModelDirectory(providers, { logger });
  const directory = directoryWithOverrides(config);
  const users = new UserStore(db);
  const memberActor = (userId: string): Actor => ({ userId, role: 'member', username: '' });
  const availability = configAvailability(config, {
    isHealthy: (p, userId) => providers.isEnabled(p) && health.isUsableFor(p, userId),
    userHasKey: (userId, p) => deps.credentials.has(memberActor(userId), p),
  });
  const classifierAdapter = config.routing.classifierModel.enabled ? providers.get(config.routing.classifierModel.provider) : undefined;
  if (config.routing.classifierModel.enabled && !classifierAdapter) {
    logger.warn({ event: 'routing.classifier_unavailable', provider: config.routing.classifierModel.provider }, 'the classifier model\'s provider is not enabled; routing uses its own rules only');
  }
  const routing = createRoutingService({
    db,
    routing: config.routing,
    directory,
    availability,
    classificationCache: valkeyClassificationCache(valkey, config.valkey.keyPrefix),
    metrics,
    ...(classifierAdapter ? { modelClassify: modelClassifier(classifierAdapter, config.routing.classifierModel.model) } : {}),
  });

  let embedder: Embedder | null = null;
  const embedAdapter = providers.get(config.embeddings.provider);
  if (embedAdapter?.embed) embedder = providerEmbedder(embedAdapter, config.embeddings.model);
  else logger.warn({ event: 'embeddings.unavailable', provider: config.embeddings.provider }, 'no embedding provider: memories are searched by words');
  const memory = new MemoryService(new MemoryStore(db), embedder, logger);
  const tools = new Map(memoryTools(memory).map((t) => [t.name, t]));

  const commands = new CommandRegistry();
  const subscriber = valkey.duplicate();
  subscriber.on('error', () => undefined);
  const bus = new ConversationBus(valkey, subscriber, config.valkey.keyPrefix, logger);
  // Replicas cache what rarely changes (routing rules, agents, credentials); a change on one is announced to all.
  const invalidation = new ValkeyInvalidation(valkey, subscriber, config.valkey.keyPrefix);
  routing.rules.onChange(() => void invalidation.publish(RULES_TOPIC));
  const agents = new AgentStore(db);
  agents.onChange(() => void invalidation.publish(AGENTS_TOPIC));
  deps.credentials.onChange(() => void invalidation.publish(CREDENTIALS_TOPIC));

  let jobs: JobSystem | null = null;
  const liveness = new ProcessLiveness(valkey, config.valkey.keyPrefix, config.jobs.livenessTtlMs);
  const replies: ReplyScheduler = {
    async schedule(job) {
      if (!jobs) throw new Error('the job system is not started');
      // One job per inbound message: a repeated delivery of the same message is the same job.
      // The message is stored already: when Valkey does not take the job in time, recovery queues
      // it once Valkey is back, so the request is not held (nor failed) by the outage.
      if (valkey.status !== 'ready') {
        enqueueOutage.failed(new Error(`Valkey is not connected (${valkey.status})`), { messageId: job.messageId });
        return;
      }
      const enqueued = jobs.service.enqueue(REPLY_JOB.name, job, { jobId: `reply-${job.messageId}` });
      try {
        await within(enqueued, ENQUEUE_TIMEOUT_MS, () => new Error(`Valkey did not take the reply job within ${ENQUEUE_TIMEOUT_MS} ms`));
        enqueueOutage.succeeded();
      } catch (err) {
        enqueued.catch(() => undefined);
        enqueueOutage.failed(err, { messageId: job.messageId });
      }
    },
    async ensure(job, mayRequeue) {
      if (!jobs) throw new Error('the job system is not started');
      return ensureJob(jobs.registry, REPLY_JOB.name, job, `reply-${job.messageId}`, { isDead: (holder) => liveness.isDead(holder), mayRequeue: () => mayRequeue(), maxCopies: config.conversations.maxRequeues });
    },
  };
  const enqueueOutage = new OutageLog(logger, { what: 'the reply queue (Valkey)', event: 'replies.enqueue' });
  // One command per count (it runs on every turn): increment and renew the expiry in one script, not a MULTI of four.
  const counter = (kind: string) => async (messageId: string) => {
    const key = valkeyKey(config.valkey.keyPrefix, kind, messageId);
    return Number(await valkey.eval(COUNT_SCRIPT, 1, key, COUNTER_TTL_MS));
  };

  const delivery = deliveryJob(config.agents.delegation);

  const conversationStore = new ConversationStore(db);
  // The user row a reply job read for its actor, kept with that actor object (so for that job only): routing reads the user's settings from it instead of reading the row again.
  const turnUsers = new WeakMap<Actor, KnownUser>();
  const actorFor = async (userId: string, known?: UserRow | null): Promise<Actor | null> => {
    const row = known !== undefined ? known : await users.findById(userId);
    if (!row || row.id !== userId || row.disabledAt) return null;
    const actor = actorOf(row);
    turnUsers.set(actor, row);
    return actor;
  };
  const lock = new ConversationLock(valkey, config.valkey.keyPrefix, undefined, liveness);
  const retention = createRetention({ config, db, lock, logger });
  const conversations = createConversationServices({
    conversations: conversationStore,
    agents,
    sessions: new SessionStore(db),
    turns: new TurnStore(db),
    bus,
    lock,
    routing: {
      route: (actor, input, owner) => {
        const known = actor ? turnUsers.get(actor) : undefined;
        // Someone else asking in the owner's conversation: the owner's local-only setting still holds for it (their row was read for the job's actor).
        const ownerLocal = owner && owner !== actor && turnUsers.get(owner)?.localOnly === true;
        return routing.route({ ...input, ...(ownerLocal ? { localOnly: true } : {}), userId: actor?.userId ?? null }, { record: true, ...(known ? { user: known } : {}) });
      },
      budget: (actor) => routing.budgetFor(actor.userId),
    },
    userSettings: { setMonthlyBudget: (actor, usd) => users.setMonthlyBudget(actor.userId, usd) },
    providers: {
      adapter: (name) => providers.get(name),
      credential: async (actor, provider) => (await deps.credentialResolver.forUser(actor, provider)) ?? undefined,
    },
    directory,
    commands,
    replies,
    erasure: {
      async schedule(conversationId) {
        if (!jobs) throw new Error('the job system is not started');
        await jobs.service.enqueue(CONVERSATION_ERASE_JOB.name, { conversationId }, { jobId: conversationEraseJobId(conversationId) });
      },
    },
    tools,
    actorFor,
    settings: {
      summarizeAt: config.conversations.summarizeAt,
      keepRecentMessages: config.conversations.keepRecentMessages,
      maxToolSteps: config.conversations.maxToolSteps,
      deltaIntervalMs: config.conversations.deltaIntervalMs,
    },
    delegation: {
      store: new DelegationStore(db),
      pairs: valkeyPairRateLimiter(valkey, config.valkey.keyPrefix, config.agents.delegation),
      settings: config.agents.delegation,
      queue: {
        async enqueue(job) {
          if (!jobs) throw new Error('the job system is not started');
          // The first try waits one backoff: the model has just failed.
          await jobs.service.enqueue(delivery.name, job, { jobId: deliveryJobId(job.delegationId), delayMs: config.agents.delegation.queueBackoffMs });
        },
      },
    },
    logger,
    metrics,
    tries: { begin: counter('answer-tries') },
  });
  for (const def of coreCommands({ service: conversations, directory }, commands)) commands.register(def);

  const identityEvents = new IdentityEvents();
  const teamEvents = new TeamEvents();
  const teams = new TeamService({
    teams: new TeamStore(db),
    users,
    conversations: conversations.api,
    publish: async (change) => {
      if (!jobs) throw new Error('the job system is not started');
      await jobs.service.enqueue(TEAM_CHANGED_JOB.name, change);
    },
  });
  const replyConcurrency = config.conversations.replyConcurrency ?? defaultReplyConcurrency(availableParallelism(), database.kind === 'postgres' ? config.database.poolSize : null);
  for (const def of teamCommands(teams, new ChannelIdentityStore(db))) commands.register(def);
  jobs = createJobSystem({
    config,
    logger,
    db,
    valkey,
    metrics,
    onWorker: (id) => liveness.register(id),
    handlers: {
      healthProbe: async () => ({ probes: await health.probeAll() }),
      summarization: async (payload) => {
        const since = new Date(Date.now() - 7 * 86_400_000);
        const candidates = (await conversationStore.activeSince(since)).filter((c) => !payload.conversationId || c.id === payload.conversationId);
        const outcomes: Record<string, number> = {};
        for (const c of candidates) {
          const outcome = await conversations.summaries.summarizeIfDue(c.id, c.ownerId);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        }
        return { checked: candidates.length, ...outcomes };
      },
      retentionPurge: retention.purgeHandler,
    },
    jobs: [
      jobWithHandler({ ...REPLY_JOB, concurrency: replyConcurrency }, async (payload) => {
        const outcome = await conversations.answers.answerPending(payload.conversationId, payload.userId);
        // Not a success: the job names a user or conversation this database does not have (deleted,
        // disabled, or another installation's job on a shared Valkey prefix). Fail it where admins see it.
        if (outcome === 'gone') {
          throw new PermanentJobError(
            `user ${payload.userId} or conversation ${payload.conversationId} does not exist (or the user is disabled) in this installation's database (${database.kind} ${database.location}); nothing was answered`,
          );
        }
        // Busy means another worker holds the conversation and will answer this message too.
        return { outcome };
      }),
      jobWithHandler(IDENTITY_CHANGED_JOB, (change) => identityEvents.deliver(change)),
      jobWithHandler(TEAM_CHANGED_JOB, (change) => teamEvents.deliver(change)),
      jobWithHandler(delivery, async (payload, job) => {
        const attempts = delivery.attempts ?? 1;
        const outcome = await conversations.delegation.deliverQueued(payload, { lastAttempt: job.attempt >= attempts, attempts });
        // A retry is a failed run, so BullMQ waits its backoff and tries again.
        if (outcome === 'retry') throw new Error(`the agent of delegation ${payload.delegationId} still cannot run (try ${job.attempt} of ${attempts})`);
        return { outcome };
      }),
      jobWithHandler(CONVERSATION_ERASE_JOB, retention.eraseHandler),
    ],
  });
  const jobSystem = jobs;
  const recovery = new ReplyRecovery({
    conversations: conversationStore,
    replies,
    notices: conversations.notices,
    actorFor,
    countRequeue: counter('reply-requeues'),
    logger,
    options: { windowMs: config.conversations.recoveryWindowHours * 3_600_000, settleMs: 2000, maxRequeues: config.conversations.maxRequeues, limit: 500 },
  });
  const recoveryOutage = new OutageLog(logger, { what: 'reply recovery (database or Valkey)', event: 'replies.recovery' });
  let sweepTimer: NodeJS.Timeout | null = null;
  let sweeping: Promise<void> | null = null;
  const sweep = (trigger: 'start' | 'periodic') =>
    (sweeping ??= (async () => {
      try {
        // One replica sweeps per interval; the others skip (a sweep is idempotent, this only saves work).
        if (trigger === 'periodic' && (await valkey.set(valkeyKey(config.valkey.keyPrefix, 'replies', 'recovery-sweep'), liveness.bootId, 'PX', Math.max(500, config.conversations.recoveryIntervalMs - 200), 'NX')) !== 'OK') return;
        const report = await recovery.sweep(trigger);
        if (report.errors) recoveryOutage.failed(report.firstError, { errors: report.errors });
        else recoveryOutage.succeeded();
      } catch (err) {
        recoveryOutage.failed(err);
      } finally {
        sweeping = null;
      }
    })());

  return {
    providers,
    health,
    models,
    directory,
    routing,
    memory,
    tools,
    commands,
    conversations,
    bus,
    jobs: jobSystem,
    identityEvents,
    teams,
    teamEvents,
    recoverReplies: () => sweep('start'),
    retention,
    invalidation,
    async start() {
      await invalidation.subscribe(RULES_TOPIC, () => routing.invalidateRules());
      await invalidation.subscribe(AGENTS_TOPIC, () => agents.invalidate());
      await invalidation.subscribe(CREDENTIALS_TOPIC, () => deps.credentials.invalidate());
      await liveness.start();
      await jobSystem.start();
      // Answers whose jobs were lost (a flushed Valkey), stuck with a process that died (this one,
      // before a crash), or that ended unanswered are queued again now, then every few seconds.
      await sweep('start');
      if (config.conversations.recoveryIntervalMs > 0) {
        sweepTimer = setInterval(() => void sweep('periodic'), config.conversations.recoveryIntervalMs);
        sweepTimer.unref();
      }
    },
    async stop() {
      if (sweepTimer) clearInterval(sweepTimer);
      await sweeping;
      identityEvents.stop();
      teamEvents.stop();
      await jobSystem.stop();
      await liveness.stop();
      subscriber.disconnect();
    },
  };
}
