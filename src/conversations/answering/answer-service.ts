/**
 * Answering, one message at a time per conversation: a queued job takes the
 * conversation's lease, then answers every waiting message oldest first —
 * route, attempt, and on a provider failure before anything reached anyone
 * fail over to the next candidate. A stop from any replica aborts the
 * attempt; what was written is kept.
 */
import type { Actor } from '../../identity/actor.ts';
import type { Logger } from '../../logging.ts';
import { isProviderError } from '../../providers/errors.ts';
import type { FallbackTried, ModelDirectory, RoutingInput } from '../../routing/types.ts';
import { errorMessage, isMosaicError } from '../../errors.ts';
import { routingStateOf } from '../conversation-api.ts';
import type { ConversationAgents } from '../conversation-agents.ts';
import type { ConversationEvents } from '../conversation-events.ts';
import type { ConversationLock, Lease } from '../conversation-lock.ts';
import type { ConversationRow, ConversationStore, MessageRow } from '../conversation-store.ts';
import type { SessionRow } from '../session-store.ts';
import { replyIdFor } from '../ids.ts';
import type { Notices } from '../notices.ts';
import type { ActorLookup, AnswerTries, ConversationSettings, RoutingPort } from '../ports.ts';
import type { RetryNote } from '../conversation-bus.ts';
import type { AnswerAttempts } from './answer-attempt.ts';
import { InterruptBox } from '../../agents/delegation/interrupts.ts';
import { AnswerStream } from './answer-stream.ts';
import type { TurnRecords } from './turn-records.ts';
import type { AnswerOutcome, MetricsPort } from '../../metrics/metrics-port.ts';
import type { ModelRef } from '../../routing/types.ts';

/** Failures after which another model may take the message (the provider, not the request, is at fault). */
const FAILOVER_CODES = new Set(['provider_unavailable', 'provider_rate_limit', 'provider_timeout', 'provider_malformed_stream', 'provider_auth', 'provider_disabled', 'provider_stream_incomplete']);
const MAX_FAILOVERS = 2;
/** Tries at one answer: the first and one retry after it was cut off (a crash mid-answer); then a notice, not a third paid call. */
const MAX_TRIES = 2;
const CUT_OFF = 'the previous try was cut off before its answer was stored (Mosaic stopped while answering)';

export class AnswerService {
  constructor(
    private readonly d: {
      conversations: ConversationStore;
      agents: ConversationAgents;
      lock: ConversationLock;
      routing: RoutingPort;
      directory: ModelDirectory;
      attempts: AnswerAttempts;
      records: TurnRecords;
      notices: Notices;
      events: ConversationEvents;
      actorFor: ActorLookup;
      settings: ConversationSettings;
      logger: Logger;
      metrics: Pick<MetricsPort, 'answer'>;
      /** Counts tries across crashes; without it every try counts as the first. */
      tries?: AnswerTries;
    },
  ) {}

  /**
   * Answers every waiting message of the conversation, oldest first, each
   * while holding its lease. Returns 'busy' when another worker holds the
   * lease for longer than `leaseWaitMs` (that worker drains this message too).
   */
  async answerPending(conversationId: string, userId: string): Promise<'done' | 'busy' | 'gone'> {
    // Rounds that found nothing to answer under the lease (a message stored just as it was released) are bounded.
    for (let idle = 0; idle < 3; ) {
      const lease = await this.waitForLease(conversationId);
      if (!lease) return 'busy';
      let answered: string | null = null;
      let actor: Actor | null;
      try {
        // The job's user, the conversation, its next waiting message and the session in one read, passed down to every layer of the answer.
        const read = await this.d.conversations.pendingTurnFor(userId, conversationId);
        actor = await this.d.actorFor(userId, read.user);
        if (!actor || !read.turn) return 'gone';
        const turn = read.turn;
        if (turn.next) {
          await this.answer(actor, turn.conv, turn.next, lease, turn.session);
          answered = turn.next.id;
        } else {
          idle += 1;
        }
      } finally {
        await lease.release();
      }
      // One read after the lease is released tells whether another message waits (stored while this one was
      // answered, or just as the lease was released: it must not be stranded); the next round answers it under
      // the lease, reading it again (another worker may take it meanwhile). The usual turn, one message, so
      // costs two reads of the pending turn, not three.
      const late = await this.d.conversations.pendingTurn(actor, conversationId).catch(() => null);
      if (!late?.next) return 'done';
      // The message just answered still waiting means its answer was not stored: stop rather than pay for it again (recovery sweeps it).
      if (late.next.id === answered) return 'done';
    }
    return 'done';
  }

  /**
   * Passes a person's interrupt to the agent exchange of the answer being
   * written (on whichever replica): each agent's next step must answer it.
   */
  async interrupt(actor: Actor, conversationId: string, message: { id: string; from: string; text: string }): Promise<void> {
    await this.d.conversations.get(actor, conversationId);
    await this.d.events.publish({ type: 'exchange:interrupt', conversationId, requestedBy: actor.userId, ...message });
  }

  /** Asks any replica answering this conversation to stop. */
  async stop(actor: Actor, conversationId: string): Promise<void> {
    await this.d.conversations.get(actor, conversationId);
    await this.d.events.publish({ type: 'answer:cancel', conversationId, requestedBy: actor.userId });
  }

  private async waitForLease(conversationId: string): Promise<Lease | null> {
    const deadline = Date.now() + (this.d.settings.leaseWaitMs ?? 60_000);
    for (;;) {
      const lease = await this.d.lock.tryAcquire(conversationId);
      if (lease || Date.now() >= deadline) return lease;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Who asked: the owner, or the person a message in their conversation
   * names as its writer (a team member in a shared conversation, someone
   * the owner invited to the room). Their budget, usage and keys are used;
   * null when that person's account is gone or disabled.
   */
  private async askerOf(owner: Actor, userMessage: MessageRow): Promise<Actor | null> {
    const writer = (userMessage.metadata as { mosaicUserId?: unknown }).mosaicUserId;
    // The owner's own messages (most) cost no lookup.
    if (typeof writer !== 'string' || writer === owner.userId) return owner;
    return this.d.actorFor(writer);
  }

  private async answer(actor: Actor, conv: ConversationRow, userMessage: MessageRow, lease: Lease, readSession: SessionRow | null): Promise<void> {
    const conversationId = conv.id;
    const replyId = replyIdFor(userMessage.id);
    const asker = await this.askerOf(actor, userMessage);
    if (!asker) {
      const notice = 'The person who wrote this message no longer has an enabled Mosaic account, so it is not answered (answers are paid from the asker\'s own budget).';
      await this.d.notices.store(actor, conversationId, userMessage, `⚠️ ${notice}`, { error: 'asker_gone' });
      await this.d.events.publish({ type: 'answer:failed', conversationId, replyId, replyTo: userMessage.id, notice });
      return;
    }
    const agent = await this.d.agents.of(actor, conv);
    const routingInput: Omit<RoutingInput, 'userId'> = {
      text: userMessage.content,
      attachments: userMessage.attachments.map((a) => ({ name: a.name, mimeType: a.mimeType, ...(a.sizeBytes !== undefined ? { sizeBytes: a.sizeBytes } : {}) })),
      channel: userMessage.channel,
      ...routingStateOf(conv, agent, this.d.directory),
    };

    const controller = new AbortController();
    // Removed when this answer ends: one lease serves every waiting message, and must not collect a listener per answer.
    const onLeaseLost = () => controller.abort(lease.signal.reason);
    lease.signal.addEventListener('abort', onLeaseLost, { once: true });
    let stoppedByUser = false;
    const interrupts = new InterruptBox();
    const unsubscribe = await this.d.events.bus.subscribe(conversationId, (event) => {
      if (event.type === 'exchange:interrupt') interrupts.add({ id: event.id, from: event.from, text: event.text });
      if (event.type === 'answer:cancel') {
        stoppedByUser = true;
        controller.abort(new Error('stopped by the user'));
      }
    });
    const stream = new AnswerStream(this.d.events, { conversationId, replyId, replyTo: userMessage.id }, this.d.settings.deltaIntervalMs ?? 50);
    const avoid: FallbackTried[] = [];
    const startedAt = Date.now();
    let ended: { outcome: AnswerOutcome; by: ModelRef | null } = { outcome: 'error', by: null };
    let tried: number | null = null;
    let retry: RetryNote | undefined;
    // The session as read with the turn serves the first attempt only: an attempt may open one, so a failover reads it again.
    let session: SessionRow | null | undefined = readSession;
    try {
      for (;;) {
        // Routed for whoever asked (their rules, budget and keys; the team's budget too when shared).
        const routed = await this.d.routing.route(asker, { ...routingInput, ...(avoid.length ? { avoid } : {}) }, asker === actor ? undefined : actor);
        if (routed.outcome === 'refused') {
          ended = { outcome: 'refused', by: null };
          // In a room several people read, the notice says whose budget or setting refused.
          const whose = asker === actor ? '' : `(${asker.username}) `;
          await this.d.notices.store(actor, conversationId, userMessage, `⚠️ ${whose}${routed.userNotice}`, { routing: routed, refused: routed.code, ...(asker === actor ? {} : { askerId: asker.userId }) });
          await this.d.conversations.update(actor, conversationId, { lastRouting: routed });
          await this.d.events.publish({ type: 'answer:failed', conversationId, replyId, replyTo: userMessage.id, notice: routed.userNotice });
          return;
        }
        // Counted once per answer, just before its first paid call: a count above one with no stored answer means an earlier try was cut off.
        if (tried === null) {
          tried = this.d.tries ? await this.d.tries.begin(userMessage.id) : 1;
          if (tried > MAX_TRIES) {
            const notice = `This answer was cut off ${tried - 1} times before it could be stored (Mosaic stopped while writing it), so it was not tried again. Send your message again to retry.`;
            this.d.logger.warn({ event: 'answer.given_up', conversationId, messageId: userMessage.id, tries: tried - 1 }, 'answer cut off too often; not calling the model again');
            await this.d.notices.store(actor, conversationId, userMessage, `⚠️ ${notice}`, { error: 'answer_interrupted', tries: tried - 1 });
            await this.d.events.publish({ type: 'answer:failed', conversationId, replyId, replyTo: userMessage.id, notice });
            return;
          }
          if (tried > 1) {
            retry = { attempt: tried, reason: CUT_OFF };
            this.d.logger.info({ event: 'answer.retry', conversationId, messageId: userMessage.id, attempt: tried }, 'answering again: the previous try was cut off');
          }
        }
        const outcome = await this.d.attempts.run({ actor, asker, conv, agent, userMessage, replyId, routed, signal: controller.signal, stream, interrupts, ...(retry ? { retry } : {}), ...(session !== undefined ? { session } : {}) });
        session = undefined;
        ended = { outcome: outcome.ok ? 'answered' : controller.signal.aborted ? 'stopped' : 'failed', by: routed };
        if (outcome.ok) return;
        const { err, streamed, toolsRan } = outcome;
        if (controller.signal.aborted) {
          const why = stoppedByUser ? 'Stopped.' : 'Interrupted: this answer was taken over by another worker.';
          await this.d.records.storeStopped({ actor, conversationId, userMessage, replyId }, streamed, routed, why);
          await this.d.events.publish({ type: 'answer:stopped', conversationId, replyId, replyTo: userMessage.id });
          return;
        }
        // Fail over only while nothing has reached anyone: no text shown and
        // no tool run, so two models' work is never spliced into one answer.
        const code = isMosaicError(err) ? err.code : '';
        // A model the provider does not have (404: not pulled, retired) is as good as down for this message.
        const missingModel = isProviderError(err) && err.status === 404;
        if (!streamed && !toolsRan && (FAILOVER_CODES.has(code) || missingModel) && avoid.length < MAX_FAILOVERS) {
          avoid.push({ provider: routed.provider, model: routed.model, why: missingModel ? 'failed just now (the provider does not have this model)' : `failed just now (${code.replace(/^provider_/, '')})` });
          this.d.logger.info({ event: 'answer.failover', conversationId, provider: routed.provider, model: routed.model, code }, 'model failed before answering; trying the next one');
          continue;
        }
        const notice = isMosaicError(err) ? err.userNotice : 'Something went wrong while answering.';
        this.d.logger.warn({ event: 'answer.failed', conversationId, provider: routed.provider, model: routed.model, err: errorMessage(err) }, 'answer failed');
        await this.d.notices.store(actor, conversationId, userMessage, `⚠️ ${routed.provider}/${routed.model} could not answer: ${notice}`, { routing: routed, error: code || 'internal' });
        await this.d.events.publish({ type: 'answer:failed', conversationId, replyId, replyTo: userMessage.id, notice });
        return;
      }
    } finally {
      unsubscribe();
      lease.signal.removeEventListener('abort', onLeaseLost);
      const firstAt = stream.firstDeltaAt;
      this.d.metrics.answer({ outcome: ended.outcome, provider: ended.by?.provider ?? null, model: ended.by?.model ?? null, seconds: (Date.now() - startedAt) / 1000, firstTokenSeconds: firstAt === null ? null : (firstAt - startedAt) / 1000 });
    }
  }
}
