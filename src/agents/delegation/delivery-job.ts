/**
 * The delivery job: a task whose agent could not run when it was handed
 * over, tried again with backoff until it is delivered (once: the job id is
 * the delegation's) or expires with a notice. Defined apart from its
 * handler, so every process that administers the queues knows it.
 */
import { z } from 'zod';
import { defineJob, type JobDefinition } from '../../jobs/job-definition.ts';

/** `userId`: the conversation's owner; `askerId`: who asked, when someone else (a team member) — they pay for the work. */
export type DeliveryPayload = { delegationId: string; userId: string; askerId?: string };

export const DELEGATION_DELIVERY_JOB = defineJob<DeliveryPayload>({
  name: 'agent-delivery',
  queue: 'mosaic:agent-delivery',
  description: 'Delivers a task one agent handed to another that could not run then (its model unavailable); its result is posted to the conversation once, or a notice when it expires.',
  payload: z.object({ delegationId: z.uuid(), userId: z.uuid(), askerId: z.uuid().optional() }).strict(),
  attempts: 6,
  backoff: { baseMs: 5000, maxMs: 300_000 },
  concurrency: 4,
});

/** The definition with the configured attempts and first backoff (agents.delegation.queue*). */
export function deliveryJob(settings: { queueAttempts: number; queueBackoffMs: number }): JobDefinition<DeliveryPayload> {
  return { ...DELEGATION_DELIVERY_JOB, attempts: settings.queueAttempts, backoff: { baseMs: settings.queueBackoffMs, maxMs: Math.max(settings.queueBackoffMs, 300_000) } };
}

export const deliveryJobId = (delegationId: string): string => `delegation-${delegationId}`;
