/**
 * The job system as one piece: built-in and injected jobs, their schedules,
 * workers, the admin operations and an orderly stop.
 */
import type { MosaicConfig } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../logging.ts';
import type { Redis } from '../valkey/client.ts';
import { AgentLogStore } from '../logs/agent-log-store.ts';
import { BUILTIN_JOBS, builtinJobDefinitions, logTiersHandler, sessionGcHandler, type InjectedJobHandlers } from './builtin-jobs.ts';
import { JobAdmin } from './job-admin.ts';
import type { JobDefinition, JobHandler } from './job-definition.ts';
import { JobQueueService, type ScheduleReport } from './queue-service.ts';
import { QueueRegistry } from './queue-registry.ts';
import { checkEvictionPolicy, type EvictionPolicyCheck } from './valkey-policy.ts';
import type { MetricsPort, QueueDepth } from '../metrics/metrics-port.ts';
import { queueDepths } from './job-metrics.ts';

/** A job another part defines, with its handler (none: defined but not run here). */
export interface JobRegistration {
  definition: JobDefinition;
  handler?: JobHandler;
}

export function jobWithHandler<P>(definition: JobDefinition<P>, handler?: JobHandler<P>): JobRegistration {
  return { definition: definition as JobDefinition, ...(handler ? { handler: handler as JobHandler } : {}) };
}

export interface JobSystemOptions {
  config: MosaicConfig;
  logger: Logger;
  db: Db;
  /** The core's Valkey client: the policy check and the ephemeral-key sweep use it. */
  valkey: Redis;
  handlers?: InjectedJobHandlers;
  jobs?: JobRegistration[];
  metrics?: MetricsPort;
  /** Told each worker's id (src/valkey/liveness.ts). */
  onWorker?: (workerId: string) => Promise<void>;
}

export interface JobSystem {
  registry: QueueRegistry;
  service: JobQueueService;
  admin: JobAdmin;
  logs: AgentLogStore;
  /** Every queue's job counts by state (read at scrape time). */
  depths(): Promise<QueueDepth[]>;
  start(): Promise<{ schedules: ScheduleReport[]; valkeyPolicy: EvictionPolicyCheck }>;
  stop(): Promise<void>;
}

/** Queue registry with the built-in definitions (and any extra), for callers that only administer. */
export function createQueueRegistry(config: MosaicConfig, extra: JobDefinition[] = []): QueueRegistry {
  const registry = new QueueRegistry({
    valkeyUrl: config.valkey.url,
    keyPrefix: config.valkey.keyPrefix,
    defaults: {
      attempts: config.jobs.attempts,
      backoff: { baseMs: config.jobs.backoffBaseMs, maxMs: config.jobs.backoffMaxMs },
      keepCompleted: config.jobs.keepCompleted,
      keepFailed: config.jobs.keepFailed,
    },
  });
  for (const definition of [...builtinJobDefinitions(config), ...extra]) registry.add(definition);
  return registry;
}

export function createJobSystem(options: JobSystemOptions): JobSystem {
  const { config, logger } = options;
  const registry = createQueueRegistry(config, (options.jobs ?? []).map((j) => j.definition));
  const logs = new AgentLogStore(options.db);
  const service = new JobQueueService({
    registry,
    logger,
    logSink: logs,
    timezone: config.jobs.timezone,
    tuning: { lockDurationMs: config.jobs.lockDurationMs, stalledIntervalMs: config.jobs.stalledIntervalMs, shutdownTimeoutMs: config.jobs.shutdownTimeoutMs },
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.onWorker ? { onWorker: options.onWorker } : {}),
  });
  service.handle(BUILTIN_JOBS.logTiers.name, logTiersHandler(logs, config));
  service.handle(BUILTIN_JOBS.sessionGc.name, sessionGcHandler(options.db, options.valkey, config));
  const injected = options.handlers ?? {};
  if (injected.summarization) service.handle(BUILTIN_JOBS.summarization.name, injected.summarization);
  if (injected.healthProbe) service.handle(BUILTIN_JOBS.healthProbe.name, injected.healthProbe);
  if (injected.retentionPurge) service.handle(BUILTIN_JOBS.retentionPurge.name, injected.retentionPurge);
  for (const job of options.jobs ?? []) if (job.handler) service.handle(job.definition.name, job.handler);

  const admin = new JobAdmin(registry, logs, () => service.unscheduledReasons());
  return {
    registry,
    service,
    admin,
    logs,
    depths: () => queueDepths(registry),
    async start() {
      const valkeyPolicy = await checkEvictionPolicy(options.valkey, logger);
      const schedules = await service.syncSchedules();
      await service.startWorkers();
      logger.info({ event: 'jobs.started', queues: registry.queueNames() }, 'job workers started');
      return { schedules, valkeyPolicy };
    },
    stop: () => service.stop(),
  };
}
