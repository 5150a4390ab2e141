/**
 * The database is the truth about what needs an answer: this finds stored
 * user messages of the last hours without one and makes sure each has a
 * reply job that will run — at start and every few seconds, from any
 * replica (one sweep at a time across replicas), bounded and idempotent.
 *
 * A job lost with a flushed Valkey, stuck with a worker that died, or that
 * ended without an answer (it failed, or gave way to a worker that died)
 * is queued again. Every message may be queued again at most
 * `maxRequeues` times; then it gets a notice saying what went wrong,
 * instead of queuing it for ever. A repeated sweep changes nothing: a job
 * that waits or runs is left alone, and the answering itself reads the
 * database under the conversation's lease, so nothing is answered twice.
 */
import type { Logger } from '../logging.ts';
import type { ConversationStore } from './conversation-store.ts';
import type { Notices } from './notices.ts';
import type { ActorLookup, ReplyScheduler } from './ports.ts';

export interface ReplyRecoveryOptions {
  /** Messages older than this are not looked at (an operator re-sends those). */
  windowMs: number;
  /** A message just stored is being queued by its own request: left alone this long. */
  settleMs: number;
  maxRequeues: number;
  /** Messages looked at per sweep. */
  limit: number;
}

export interface SweepReport {
  found: number;
  requeued: number;
  notices: number;
  /** Messages that could not be checked (an outage, most likely); the next sweep tries them again. */
  errors: number;
  firstError?: unknown;
}

export class ReplyRecovery {
  constructor(
    private readonly d: {
      conversations: ConversationStore;
      replies: ReplyScheduler;
      notices: Notices;
      actorFor: ActorLookup;
      /** Counts how often a message was queued again (Valkey in production); answers the new count. */
      countRequeue(messageId: string): Promise<number>;
      logger: Logger;
      options: ReplyRecoveryOptions;
    },
  ) {}

  async sweep(trigger: 'start' | 'periodic'): Promise<SweepReport> {
    const { windowMs, settleMs, limit, maxRequeues } = this.d.options;
    const now = Date.now();
    const waiting = await this.d.conversations.unansweredSince(new Date(now - windowMs), limit, new Date(now - settleMs));
    const report: SweepReport = { found: waiting.length, requeued: 0, notices: 0, errors: 0 };
    for (const w of waiting) {
      const job = { conversationId: w.conversationId, userId: w.ownerId, messageId: w.messageId };
      try {
        let count = 0;
        const check = await this.d.replies.ensure(job, async () => (count = await this.d.countRequeue(w.messageId)) <= maxRequeues);
        if (check.outcome === 'requeued') {
          report.requeued++;
          this.d.logger.info({ event: 'replies.requeued', trigger, messageId: w.messageId, conversationId: w.conversationId, previous: check.previous, requeues: count }, `re-queued the answer to message ${w.messageId} (its job was ${check.previous})`);
        } else if (check.outcome === 'refused') {
          const why = check.failedReason ? `the last try failed: ${check.failedReason.slice(0, 200)}` : `its job was ${check.previous} each time`;
          if (await this.giveUp(job, `⚠️ This message could not be answered: Mosaic tried ${maxRequeues + 1} times (${why}). Send it again to retry.`, check.failedReason)) report.notices++;
        }
      } catch (err) {
        // One message's trouble must not stop the sweep of the others; the caller logs (once per outage), the next sweep tries again.
        report.errors++;
        report.firstError ??= err;
      }
    }
    if (report.requeued || report.notices) {
      const { found, requeued, notices, errors } = report;
      this.d.logger.info({ event: 'replies.recovered', trigger, found, requeued, notices, errors }, `reply recovery (${trigger}): ${requeued} re-queued, ${notices} given up with a notice`);
    }
    return report;
  }

  private async giveUp(job: { conversationId: string; userId: string; messageId: string }, text: string, failedReason: string | undefined): Promise<boolean> {
    const actor = await this.d.actorFor(job.userId);
    if (!actor) return false;
    const message = await this.d.conversations.getMessage(actor, job.messageId);
    if (!message) return false;
    this.d.logger.warn({ event: 'replies.given_up', messageId: job.messageId, conversationId: job.conversationId }, 'a stored message could not be answered after every re-queue; it gets a notice');
    await this.d.notices.store(actor, job.conversationId, message, text, { error: 'not_answered', ...(failedReason ? { failedReason: failedReason.slice(0, 500) } : {}) });
    return true;
  }
}
