/**
 * One live view of one conversation (a socket subscription or an event
 * stream): the messages since `afterSeq` from the store, then everything
 * live, with no gap and nothing twice — even while an answer streams.
 *
 * Opening: follow the bus first (events wait in a buffer), read the
 * answer being written (the bus's snapshot), then the stored messages;
 * send those, the snapshot as `answer:started` with the text so far, then
 * the buffer, dropping what the reads covered: messages with seq ≤ the last
 * one read, deltas numbered ≤ the snapshot's, any frame of an answer whose
 * final message was read.
 *
 * Live: messages are sent in seq order, each exactly once. A message
 * whose `prevSeq` is newer than the last one sent means one was missed
 * (published late by another replica, or its publish failed): the feed
 * reads the store from its last seq again, buffering meanwhile, as when it
 * opened. The store commits one conversation's messages in seq order, so
 * that read finds what was missed.
 */
import type { Actor } from '../identity/actor.ts';
import type { Logger } from '../logging.ts';
import { MosaicError, errorMessage, isMosaicError } from '../errors.ts';
import type { AnswerStartedEvent, ConversationEvent } from '../conversations/conversation-bus.ts';
import { toView } from '../conversations/conversation-events.ts';
import type { ConversationStore, MessageRow } from '../conversations/conversation-store.ts';
import { replyIdFor } from '../conversations/ids.ts';
import { answerStartedFrame, messageFrame, type EncodedFrame } from './frames.ts';
import type { FeedTarget, LiveHub } from './live-hub.ts';

export interface FeedSink {
  send(frame: EncodedFrame): void;
  /**
   * Resolves once the connection has room for more (less than half its send
   * buffer waiting), or is gone. Replays wait on it between messages, so a
   * long backlog goes out at the client's pace instead of cutting it as a
   * slow consumer; live events wait in the feed's buffer meanwhile.
   */
  room(): Promise<void>;
}

export interface FeedOptions {
  hub: LiveHub;
  store: ConversationStore;
  actor: Actor;
  conversationId: string;
  sink: FeedSink;
  /** The session this feed belongs to: its own typing is not sent back to it. */
  sessionId: string | null;
  maxReplay: number;
  /** The conversation is gone (deleted): the feed has closed itself. */
  onEnded(reason: string): void;
  logger: Logger;
}

/** Events held while the store is read; more than this and the reader is too far behind. */
const MAX_BUFFERED = 10_000;
const CATCH_UP_PAGE = 200;

interface Covered {
  /** Deltas numbered up to this were sent (Infinity: the answer's final message was sent). */
  seq: number;
  started?: AnswerStartedEvent;
}

export class ConversationFeed implements FeedTarget {
  private state: 'new' | 'reading' | 'live' | 'closed' = 'new';
  private buffer: Array<[ConversationEvent, EncodedFrame]> = [];
  private lastSeq = 0;
  private repairedFor = -1;
  private detach: (() => void) | null = null;
  private readonly covered = new Map<string, Covered>();

  constructor(private readonly o: FeedOptions) {}

  get conversationId(): string {
    return this.o.conversationId;
  }

  /**
   * Sends what was missed since `afterSeq` (nothing when absent: live from
   * now), then goes live. `ready` runs between the two, so the caller's
   * acknowledgement separates replay from live.
   */
  async open(afterSeq: number | undefined, ready: (r: { lastSeq: number; replayed: number }) => void): Promise<void> {
    const { store, actor, conversationId } = this.o;
    this.state = 'reading';
    await store.get(actor, conversationId);
    this.detach = this.o.hub.attach(conversationId, this);
    try {
      const newest = await store.lastSeq(actor, conversationId);
      const from = afterSeq ?? newest;
      const snapshot = await this.o.hub.bus.liveAnswer(conversationId);
      const rows = await store.listMessages(actor, conversationId, { afterSeq: from, limit: this.o.maxReplay + 1 });
      // Stored already but not yet ended on the bus (its reply at or before afterSeq): nothing left to stream.
      const stored = snapshot && !rows.some((r) => r.id === snapshot.started.replyId) ? await store.getMessage(actor, snapshot.started.replyId) : null;
      if (rows.length > this.o.maxReplay) {
        throw new MosaicError('replay_too_large', `more than ${this.o.maxReplay} messages since seq ${from}: load them with GET /api/conversations/${conversationId}/messages?after=${from} and subscribe with the newest seq`, { httpStatus: 409 });
      }
      if (this.closed) return;
      // A client's afterSeq past the newest message must not hide messages stored after it.
      this.lastSeq = Math.min(from, newest);
      const finished = await this.sendRows(rows);
      if (this.closed) return;
      if (stored) finished.add(stored.id);
      for (const replyId of finished) this.covered.set(replyId, { seq: Infinity });
      if (snapshot && !finished.has(snapshot.started.replyId)) {
        this.o.sink.send(answerStartedFrame(snapshot.started, snapshot));
        this.covered.set(snapshot.started.replyId, { seq: snapshot.seq, started: snapshot.started });
      }
      ready({ lastSeq: this.lastSeq, replayed: rows.length });
      this.goLive();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  accept(event: ConversationEvent, frame: EncodedFrame): void {
    if (this.state === 'closed') return;
    if (this.state !== 'live') {
      this.buffer.push([event, frame]);
      if (this.buffer.length > MAX_BUFFERED) {
        this.o.logger.warn({ event: 'live.feed_overflow', conversationId: this.o.conversationId }, 'a live feed fell too far behind while reading the store');
        this.end('too far behind');
      }
      return;
    }
    this.deliver(event, frame);
  }

  /** Read through a getter: the state changes while reads are awaited. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  close(): void {
    this.state = 'closed';
    this.buffer = [];
    this.detach?.();
    this.detach = null;
  }

  private end(reason: string): void {
    if (this.state === 'closed') return;
    this.close();
    this.o.onEnded(reason);
  }

  private deliver(event: ConversationEvent, frame: EncodedFrame): void {
    switch (event.type) {
      case 'message:new': {
        const m = event.message;
        if (m.seq <= this.lastSeq) return;
        if (m.prevSeq !== undefined && (m.prevSeq ?? 0) > this.lastSeq && m.seq !== this.repairedFor) {
          this.catchUp([event, frame]);
          return;
        }
        this.lastSeq = m.seq;
        this.o.sink.send(frame);
        return;
      }
      case 'answer:started': {
        const c = this.covered.get(event.replyId);
        if (c && (event.seq < c.seq || (event.seq === c.seq && c.started?.provider === event.provider && c.started.model === event.model))) return;
        this.o.sink.send(frame);
        return;
      }
      case 'answer:delta': {
        const c = this.covered.get(event.replyId);
        if (c && event.seq <= c.seq) return;
        this.o.sink.send(frame);
        return;
      }
      case 'answer:final':
      case 'answer:failed':
      case 'answer:stopped': {
        const c = this.covered.get(event.replyId);
        this.covered.delete(event.replyId);
        if (c?.seq === Infinity) return;
        this.o.sink.send(frame);
        return;
      }
      case 'typing':
        if (event.sessionId !== this.o.sessionId) this.o.sink.send(frame);
        return;
      case 'conversation:updated':
        this.o.sink.send(frame);
        if (event.change === 'deleted') this.end('the conversation was deleted');
        // Sharing changes who may read it: a person who no longer may stops hearing of it.
        else if (event.change === 'shared' || event.change === 'unshared') this.recheckAccess();
        return;
      default:
        this.o.sink.send(frame);
    }
  }

  private recheckAccess(): void {
    const { store, actor, conversationId } = this.o;
    void store.get(actor, conversationId).catch((err: unknown) => {
      if (isMosaicError(err) && err.httpStatus === 404) this.end('the conversation is no longer shared with you');
      else this.o.logger.warn({ event: 'live.access_check_failed', conversationId, err: errorMessage(err) }, 'could not re-check who may read a conversation');
    });
  }

  /** Sends stored messages newer than the last one sent, at the connection's pace; returns the answers they finish. */
  private async sendRows(rows: MessageRow[]): Promise<Set<string>> {
    const finished = new Set<string>();
    for (const row of rows) {
      await this.o.sink.room();
      if (this.closed) return finished;
      if (row.seq <= this.lastSeq) continue;
      this.lastSeq = row.seq;
      this.o.sink.send(messageFrame(toView(row)));
      if (row.role === 'assistant' && row.metadata.final === true) finished.add(row.id);
      else if (row.role === 'system' && row.replyToId) finished.add(replyIdFor(row.replyToId));
    }
    return finished;
  }

  /** The bus was down (events may be lost): read the store from the last message sent, as after a gap. */
  resync(): void {
    if (this.state === 'live') this.catchUp(null);
  }

  /** A message was missed: read the store from the last one sent, holding live events meanwhile. */
  private catchUp(trigger: [ConversationEvent, EncodedFrame] | null): void {
    this.state = 'reading';
    this.buffer = trigger ? [trigger] : [];
    if (trigger) this.repairedFor = (trigger[0] as Extract<ConversationEvent, { type: 'message:new' }>).message.seq;
    const { store, actor, conversationId } = this.o;
    void (async () => {
      try {
        for (;;) {
          const rows = await store.listMessages(actor, conversationId, { afterSeq: this.lastSeq, limit: CATCH_UP_PAGE });
          if (this.closed) return;
          // An answer whose final message is read here is over: its late frames are dropped.
          for (const replyId of await this.sendRows(rows)) this.covered.set(replyId, { seq: Infinity });
          if (rows.length < CATCH_UP_PAGE) break;
        }
      } catch (err) {
        if (isMosaicError(err) && err.httpStatus === 404) return this.end('the conversation was deleted');
        this.o.logger.warn({ event: 'live.catch_up_failed', conversationId, err: errorMessage(err) }, 'reading missed messages failed; continuing live');
      }
      if (!this.closed) this.goLive();
    })();
  }

  private goLive(): void {
    this.state = 'live';
    const pending = this.buffer;
    this.buffer = [];
    for (const [event, frame] of pending) {
      if (this.state !== 'live') {
        // A gap in the buffer started another read: the rest waits behind it.
        this.buffer.push([event, frame]);
        continue;
      }
      this.deliver(event, frame);
    }
  }
}
