/**
 * Mosaic's scheduled housekeeping: the definitions (schedules from config)
 * and the handlers that live here. Summarization, health probes and the
 * retention purge belong to other services, which hand in their handlers.
 */
import { z } from 'zod';
import type { MosaicConfig } from '../config/schema.ts';
import { PROVIDER_NAMES } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import type { Redis } from '../valkey/client.ts';
import type { AgentLogStore } from '../logs/agent-log-store.ts';
import { endOrphanedSessions } from '../housekeeping/orphaned-sessions.ts';
import { sweepEphemeralKeys } from '../housekeeping/ephemeral-keys.ts';
import { defineJob, type JobDefinition, type JobHandler } from './job-definition.ts';
import { BUILTIN_JOBS } from './builtin-job-names.ts';

export const summarizationPayload = z
  .object({ conversationId: z.uuid().optional().describe('Only this conversation; without it, every conversation past its threshold.') })
  .strict();
export const healthProbePayload = z
  .object({ providers: z.array(z.enum(PROVIDER_NAMES)).min(1).optional().describe('Only these providers; without it, every enabled provider.') })
  .strict();
export const retentionPurgePayload = z.object({}).strict();
export const logTiersPayload = z.object({}).strict();
export const sessionGcPayload = z.object({}).strict();

export type SummarizationPayload = z.infer<typeof summarizationPayload>;
export type HealthProbePayload = z.infer<typeof healthProbePayload>;
export type RetentionPurgePayload = z.infer<typeof retentionPurgePayload>;

/** Handlers other parts supply. A missing one leaves its job unscheduled. */
export interface InjectedJobHandlers {
  summarization?: JobHandler<SummarizationPayload>;
  healthProbe?: JobHandler<HealthProbePayload>;
  retentionPurge?: JobHandler<RetentionPurgePayload>;
}

export { BUILTIN_JOBS };

export function builtinJobDefinitions(config: MosaicConfig): JobDefinition[] {
  const tz = config.jobs.timezone;
  return [
    defineJob({
      ...BUILTIN_JOBS.summarization,
      description: 'Summarises conversations whose history passed the context threshold.',
      payload: summarizationPayload,
      schedule: { cron: config.jobs.schedules.summarization, timezone: tz },
      scheduleSource: 'jobs.schedules.summarization (env JOBS_CRON_SUMMARIZATION)',
      scheduledPayload: {},
    }),
    defineJob({
      ...BUILTIN_JOBS.logTiers,
      description: 'Moves agent_logs lines hot → warm → cold by age and deletes the oldest (jobs.logTiers).',
      payload: logTiersPayload,
      schedule: { cron: config.jobs.schedules.logTiers, timezone: tz },
      scheduleSource: 'jobs.schedules.logTiers (env JOBS_CRON_LOG_TIERS)',
      scheduledPayload: {},
    }),
    defineJob({
      ...BUILTIN_JOBS.sessionGc,
      description: 'Ends orphaned sessions and expires leaked ephemeral Valkey keys.',
      payload: sessionGcPayload,
      schedule: { cron: config.jobs.schedules.sessionGc, timezone: tz },
      scheduleSource: 'jobs.schedules.sessionGc (env JOBS_CRON_SESSION_GC)',
      scheduledPayload: {},
    }),
    defineJob({
      ...BUILTIN_JOBS.healthProbe,
      description: 'Probes every enabled provider (a model listing, never a billed call).',
      payload: healthProbePayload,
      schedule: { everyMs: config.health.probeIntervalSeconds * 1000 },
      scheduleSource: 'health.probeIntervalSeconds (env HEALTH_PROBE_INTERVAL_SECONDS)',
      scheduledPayload: {},
      // The next tick is the retry: a probe retried later is stale.
      attempts: 1,
    }),
    defineJob({
      ...BUILTIN_JOBS.retentionPurge,
      description: 'Deletes messages past their retention policy.',
      payload: retentionPurgePayload,
      schedule: { cron: config.jobs.schedules.retentionPurge, timezone: tz },
      scheduleSource: 'jobs.schedules.retentionPurge (env JOBS_CRON_RETENTION_PURGE)',
      scheduledPayload: {},
    }),
  ] as JobDefinition[];
}

export function logTiersHandler(store: AgentLogStore, config: MosaicConfig): JobHandler {
  return async () => store.applyTiers(config.jobs.logTiers);
}

export function sessionGcHandler(db: Db, valkey: Redis, config: MosaicConfig): JobHandler {
  return async () => {
    const ended = await endOrphanedSessions(db, { idleMs: config.jobs.sessionGc.idleMinutes * 60_000 });
    const ephemeral = await sweepEphemeralKeys(valkey, config.valkey.keyPrefix, config.jobs.sessionGc.ephemeralGraceSeconds);
    return { endedSessions: ended.length, ephemeralKeys: ephemeral };
  };
}
