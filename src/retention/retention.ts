/**
 * Retention as one piece: the policies, the channel erasers channels
 * register into, and the purge. Built with the other services; the job
 * system runs `purgeHandler` (the scheduled `retention-purge`) and
 * `eraseHandler` (`conversation-erase`, one per deleted conversation).
 */
import type { MosaicConfig } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../logging.ts';
import type { Lease } from '../conversations/conversation-lock.ts';
import type { JobHandler } from '../jobs/job-definition.ts';
import type { RetentionPurgePayload } from '../jobs/builtin-jobs.ts';
import { ChannelErasers } from './channel-erasers.ts';
import { RetentionPolicies } from './retention-policies.ts';
import { RetentionPurge } from './retention-purge.ts';
import { RetentionStore } from './retention-store.ts';
import type { CONVERSATION_ERASE_JOB } from './retention-jobs.ts';
import type { z } from 'zod';

export interface Retention {
  store: RetentionStore;
  policies: RetentionPolicies;
  /** Channels register here when they start (the Matrix appservice does). */
  erasers: ChannelErasers;
  purge: RetentionPurge;
  purgeHandler: JobHandler<RetentionPurgePayload>;
  eraseHandler: JobHandler<z.infer<typeof CONVERSATION_ERASE_JOB.payload>>;
}

/** Channels that keep their own copy of messages and are configured here: nothing is deleted until their eraser is registered. */
export function channelsWithCopies(config: MosaicConfig): string[] {
  return config.matrix.enabled ? ['matrix'] : [];
}

export function createRetention(d: { config: MosaicConfig; db: Db; lock: { tryAcquire(conversationId: string): Promise<Lease | null> }; logger: Logger }): Retention {
  const store = new RetentionStore(d.db);
  const policies = new RetentionPolicies(store, d.config.retention.defaults);
  const erasers = new ChannelErasers(channelsWithCopies(d.config));
  const purge = new RetentionPurge({ store, policies, erasers, lock: d.lock, batchSize: d.config.retention.batchSize, logger: d.logger });
  return {
    store,
    policies,
    erasers,
    purge,
    purgeHandler: (_payload, ctx) => purge.run({ signal: ctx.signal, progress: (counts) => ctx.progress({ ...counts }) }),
    eraseHandler: async ({ conversationId }, ctx) => {
      const result = await purge.eraseConversation(conversationId, ctx.signal);
      // A retry (with backoff) is the way to finish it; the scheduled purge also takes it up later.
      if (result.outcome === 'failed') throw new Error(`conversation ${conversationId} could not be erased yet: ${result.error}`);
      return result;
    },
  };
}
