/**
 * Retention's own job: erasing one deleted conversation (its channel side,
 * then its rows), queued when its owner deletes it. Defined apart from its
 * handler so every process that administers the queues (the CLI too)
 * knows the queue. The scheduled `retention-purge` (src/jobs/builtin-jobs.ts)
 * also finishes any deleted conversation whose erase job was lost or failed.
 */
import { z } from 'zod';
import { defineJob } from '../jobs/job-definition.ts';

export const CONVERSATION_ERASE_JOB = defineJob({
  name: 'conversation-erase',
  queue: 'mosaic:conversation-erase',
  description: 'Erases a deleted conversation: its events on every channel (Matrix: redacted, then the room is closed), then its rows.',
  payload: z.object({ conversationId: z.uuid() }).strict(),
  attempts: 8,
  backoff: { baseMs: 5000, maxMs: 300_000 },
});

/** One erase job per conversation: deleting twice queues it once. */
export const conversationEraseJobId = (conversationId: string): string => `erase-${conversationId}`;
