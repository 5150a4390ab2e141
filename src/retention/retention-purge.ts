/**
 * The retention purge: removes messages past their policy from Mosaic's
 * store and from every channel that keeps a copy (the homeserver), in
 * lockstep, and finishes erasing deleted conversations.
 *
 * - Lockstep: a message leaves the store only after every channel eraser
 *   said its side is gone. One whose channel side failed stays, marked
 *   (`retention_failed_at`, `retention_error`), for the next run.
 * - Batches: each step (at most `batchSize` messages of one conversation)
 *   is erased on the channels and then deleted and committed, so a run cut
 *   off anywhere resumes where it stopped, and a repeated run (at-least-once
 *   delivery) finds nothing more to do.
 * - A conversation being answered (its lease held) is left for the next
 *   run, so no answer is built from messages deleted under it.
 */
import type { Logger } from '../logging.ts';
import { errorMessage } from '../errors.ts';
import type { Lease } from '../conversations/conversation-lock.ts';
import { CHANNEL_ONLY_KINDS, type ChannelErasers, type EraseOutcome } from './channel-erasers.ts';
import { cutoffOf } from './policy.ts';
import type { RetentionPolicies } from './retention-policies.ts';
import type { PurgeCandidate, PurgeMessage, RetentionStore } from './retention-store.ts';

export interface PurgeCounts {
  conversationsChecked: number;
  /** Skipped because an answer held them; the next run takes them. */
  conversationsBusy: number;
  messagesDeleted: number;
  /** Channel events removed (Matrix: redactions) for the deleted messages. */
  channelEvents: number;
  /** Past their policy but kept: their channel side failed (marked for the next run). */
  messagesFailed: number;
  summariesDropped: number;
  deletedConversationsErased: number;
  deletedConversationsFailed: number;
  /** Agent rooms (channel-only, no rows in Mosaic) looked at. */
  agentRoomsChecked: number;
  /** Their events past the `agent` policy removed (Matrix: redacted). */
  agentRoomEvents: number;
  /** Their events past the policy the channel refused to remove: kept, tried again next run. */
  agentRoomEventsFailed: number;
  batches: number;
}

export interface PurgeRunContext {
  signal: AbortSignal;
  /** Called after every step with the counts so far (the job's progress). */
  progress?(counts: PurgeCounts): Promise<void> | void;
}

export interface RetentionPurgeDeps {
  store: RetentionStore;
  policies: RetentionPolicies;
  erasers: ChannelErasers;
  lock: { tryAcquire(conversationId: string): Promise<Lease | null> };
  batchSize: number;
  logger: Logger;
  now?: () => Date;
}

const PAGE = 100;

export class ChannelNotReadyError extends Error {
  override readonly name = 'ChannelNotReadyError';
}

export const emptyCounts = (): PurgeCounts => ({
  conversationsChecked: 0,
  conversationsBusy: 0,
  messagesDeleted: 0,
  channelEvents: 0,
  messagesFailed: 0,
  summariesDropped: 0,
  deletedConversationsErased: 0,
  deletedConversationsFailed: 0,
  agentRoomsChecked: 0,
  agentRoomEvents: 0,
  agentRoomEventsFailed: 0,
  batches: 0,
});

export class RetentionPurge {
  private readonly now: () => Date;

  constructor(private readonly d: RetentionPurgeDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /** One full run. Throws (so the job is retried) while a configured channel has not started. */
  async run(ctx: PurgeRunContext): Promise<PurgeCounts & { startedAt: string }> {
    this.requireChannels();
    const started = this.now();
    const counts = emptyCounts();
    const report = async () => {
      counts.batches++;
      await Promise.resolve(ctx.progress?.({ ...counts })).catch(() => undefined);
    };

    for (let after: string | null = null; ; ) {
      const ids = await this.d.store.deletedConversations(after, PAGE);
      for (const id of ids) {
        ctx.signal.throwIfAborted();
        const outcome = await this.eraseConversation(id, ctx.signal);
        if (outcome.outcome === 'erased') counts.deletedConversationsErased++;
        else if (outcome.outcome === 'failed') counts.deletedConversationsFailed++;
        counts.channelEvents += outcome.events;
        await report();
      }
      if (ids.length < PAGE) break;
      after = ids.at(-1)!;
    }

    const kinds = await this.d.policies.kindPolicies();
    const shortest = await this.d.store.shortestDays(Object.values(kinds).map((k) => k.days));
    const olderThan = cutoffOf(shortest, started);
    if (olderThan) {
      for (let after: string | null = null; ; ) {
        const page = await this.d.store.candidates(olderThan, after, PAGE);
        for (const candidate of page) {
          ctx.signal.throwIfAborted();
          counts.conversationsChecked++;
          await this.purgeConversation(candidate, kinds, started, counts, ctx, report);
        }
        if (page.length < PAGE) break;
        after = page.at(-1)!.conversation.id;
      }
    }
    await this.purgeChannelRooms(kinds, started, counts, ctx.signal, report);
    this.d.logger.info({ event: 'retention.purged', ...counts }, `retention purge: ${counts.messagesDeleted} message(s) deleted, ${counts.messagesFailed} kept for the next run`);
    return { ...counts, startedAt: started.toISOString() };
  }

  /** Rooms only the channels keep (agent rooms): each channel removes their events past the kind's policy. */
  private async purgeChannelRooms(
    kinds: Awaited<ReturnType<RetentionPolicies['kindPolicies']>>,
    started: Date,
    counts: PurgeCounts,
    signal: AbortSignal,
    report: () => Promise<void>,
  ): Promise<void> {
    for (const kind of CHANNEL_ONLY_KINDS) {
      const before = cutoffOf(kinds[kind].days, started);
      if (!before) continue;
      for (const eraser of this.d.erasers.all()) {
        if (!eraser.purgeRooms) continue;
        await eraser.purgeRooms(kind, before, signal, async (room) => {
          counts.agentRoomsChecked++;
          counts.agentRoomEvents += room.events;
          counts.agentRoomEventsFailed += room.failed;
          if (room.failed) {
            this.d.logger.warn(
              { event: 'retention.room_purge_failed', channel: eraser.channel, kind, roomId: room.roomId, failed: room.failed, err: room.error },
              `${eraser.channel}: ${room.failed} event(s) of a ${kind} room past their retention could not be removed; they stay and the next run tries again`,
            );
          }
          await report();
        });
      }
    }
  }

  private requireChannels(): void {
    const missing = this.d.erasers.missing();
    if (missing.length) {
      throw new ChannelNotReadyError(`the ${missing.join(', ')} channel has not started in this process, so nothing can be removed from it yet; the purge is retried (nothing was deleted)`);
    }
  }

  private async purgeConversation(
    candidate: PurgeCandidate,
    kinds: Awaited<ReturnType<RetentionPolicies['kindPolicies']>>,
    started: Date,
    counts: PurgeCounts,
    ctx: PurgeRunContext,
    report: () => Promise<void>,
  ): Promise<void> {
    const conversationId = candidate.conversation.id;
    const cutoff = cutoffOf(this.d.policies.policyOf(candidate, kinds).days, started);
    if (!cutoff) return;
    const lease = await this.d.lock.tryAcquire(conversationId);
    if (!lease) {
      counts.conversationsBusy++;
      return;
    }
    let deletedHere = 0;
    try {
      for (;;) {
        ctx.signal.throwIfAborted();
        if (lease.signal.aborted) return;
        const batch = await this.d.store.expiredMessages(conversationId, cutoff, started, this.d.batchSize);
        if (batch.length === 0) break;
        const { erased, failed, events } = await this.eraseOnChannels(batch, ctx.signal);
        const { deleted, summaryDropped } = await this.d.store.deleteMessages(conversationId, erased);
        for (const [error, ids] of failed) await this.d.store.markFailed(ids, error);
        deletedHere += deleted;
        counts.messagesDeleted += deleted;
        counts.channelEvents += events;
        counts.messagesFailed += [...failed.values()].reduce((n, ids) => n + ids.length, 0);
        if (summaryDropped) counts.summariesDropped++;
        await report();
      }
      if (deletedHere > 0) await this.compact(conversationId, cutoff);
    } finally {
      await lease.release();
    }
  }

  /** Which of the batch every channel erased; the others grouped by the first error. */
  private async eraseOnChannels(batch: PurgeMessage[], signal: AbortSignal): Promise<{ erased: string[]; failed: Map<string, string[]>; events: number }> {
    const errors = new Map<string, string>();
    let events = 0;
    for (const eraser of this.d.erasers.all()) {
      let outcomes: Map<string, EraseOutcome>;
      try {
        outcomes = await eraser.eraseMessages(batch, signal);
      } catch (err) {
        outcomes = new Map(batch.map((m) => [m.id, { ok: false as const, error: errorMessage(err) }]));
      }
      for (const m of batch) {
        const o = outcomes.get(m.id) ?? { ok: false as const, error: `${eraser.channel}: no answer for this message` };
        if (o.ok) events += o.events;
        else if (!errors.has(m.id)) errors.set(m.id, o.error.startsWith(`${eraser.channel}:`) ? o.error : `${eraser.channel}: ${o.error}`);
      }
    }
    const failed = new Map<string, string[]>();
    for (const [id, error] of errors) failed.set(error, [...(failed.get(error) ?? []), id]);
    return { erased: batch.filter((m) => !errors.has(m.id)).map((m) => m.id), failed, events };
  }

  private async compact(conversationId: string, cutoff: Date): Promise<void> {
    for (const eraser of this.d.erasers.all()) {
      if (!eraser.compact) continue;
      // Nothing Mosaic still keeps may be older than the point the channel drops up to.
      const oldest = await this.d.store.oldestMessageAt(conversationId);
      const before = oldest && oldest < cutoff ? oldest : cutoff;
      await eraser.compact(conversationId, before).catch((err: unknown) =>
        this.d.logger.warn({ event: 'retention.compact_failed', channel: eraser.channel, conversationId, err: errorMessage(err) }, `${eraser.channel}: could not compact the conversation's history (retried next run)`),
      );
    }
  }

  /**
   * A deleted conversation: every channel erases its side, then its rows
   * go. When a channel fails, the conversation stays deleted (hidden) with
   * the error recorded, and the next run or retry finishes it.
   */
  async eraseConversation(conversationId: string, signal: AbortSignal): Promise<{ outcome: 'erased' | 'absent' | 'failed'; events: number; messages: number; error?: string }> {
    if (!(await this.d.store.isDeleted(conversationId))) return { outcome: 'absent', events: 0, messages: 0 };
    let events = 0;
    try {
      this.requireChannels();
      for (const eraser of this.d.erasers.all()) events += (await eraser.eraseConversation(conversationId, signal)).events;
    } catch (err) {
      const error = errorMessage(err);
      await this.d.store.markEraseFailed(conversationId, error);
      this.d.logger.warn({ event: 'retention.erase_failed', conversationId, err: error }, 'a deleted conversation could not be erased on its channels yet; it stays hidden and is retried');
      return { outcome: 'failed', events, messages: 0, error };
    }
    const { removed, messages } = await this.d.store.removeDeleted(conversationId);
    this.d.logger.info({ event: 'retention.conversation_erased', conversationId, events, messages }, 'deleted conversation erased');
    return { outcome: removed ? 'erased' : 'absent', events, messages };
  }
}
