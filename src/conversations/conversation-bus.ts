/**
 * Fan-out of conversation events over Valkey pub/sub, so every surface on
 * every replica sees a message the moment it is stored, and streamed
 * answers as they grow.
 *
 * The answer being written in a conversation is also kept in Valkey (its
 * start, text and thinking so far, and the sequence number of its last
 * delta), updated atomically with each publish: a surface that opens
 * mid-answer, on any replica, starts from that snapshot and continues with
 * the deltas after it, with nothing missing and nothing twice.
 */
import type { Redis } from '../valkey/client.ts';
import type { Logger } from '../logging.ts';
import { ephemeralKey } from '../housekeeping/ephemeral-keys.ts';

export interface MessageUsage {
  inputTokens: number;
  outputTokens: number;
  /** US dollars; null when the model's price is unknown. */
  costUsd: number | null;
}

export interface StoredMessageView {
  id: string;
  conversationId: string;
  seq: number;
  /**
   * The seq of the conversation's message before this one when it was
   * stored (null: the first). Present on live events only; a surface that
   * has not seen `prevSeq` knows it missed a message.
   */
  prevSeq?: number | null;
  role: 'user' | 'assistant' | 'system' | 'tool';
  senderId: string;
  senderType: 'user' | 'agent' | 'system';
  content: string;
  contentType: 'text' | 'markdown' | 'code' | 'image' | 'file';
  channel: string;
  externalId: string | null;
  replyToId: string | null;
  threadId: string | null;
  editOf: string | null;
  attachments: Array<{ name: string; mimeType: string; url: string; sizeBytes?: number }>;
  provider: string | null;
  model: string | null;
  routing: unknown;
  /** An answer's tokens and cost (what the routing receipt shows); absent on messages no model wrote. */
  usage?: MessageUsage;
  metadata: Record<string, unknown>;
  createdAt: string;
}

export interface AnswerStartedEvent {
  type: 'answer:started';
  conversationId: string;
  replyId: string;
  replyTo: string;
  agentId: string | null;
  provider: string;
  model: string;
  routing: unknown;
  /** The answer's delta counter when this attempt started (0, or more after a failed attempt). */
  seq: number;
  /** Present when this answer is tried again after an earlier try was cut off (a crash): surfaces say so. */
  retry?: RetryNote;
}

/** Why an answer is being tried again, and which try this is (2 = the first retry). */
export interface RetryNote {
  attempt: number;
  reason: string;
}

export interface AnswerDeltaEvent {
  type: 'answer:delta';
  conversationId: string;
  replyId: string;
  /** 1, 2, 3 … per answer, never reused: apply in this order. */
  seq: number;
  /** The model call this text belongs to (a new one after each round of tool calls). */
  step: number;
  text?: string;
  thinking?: string;
}

export type ConversationEvent =
  | { type: 'message:new'; conversationId: string; message: StoredMessageView }
  | AnswerStartedEvent
  | AnswerDeltaEvent
  /** The answer is stored: its message (seq `messageSeq`) was published just before. */
  | { type: 'answer:final'; conversationId: string; replyId: string; replyTo: string; messageSeq: number }
  | { type: 'answer:failed'; conversationId: string; replyId: string; replyTo: string; notice: string }
  | { type: 'answer:stopped'; conversationId: string; replyId: string; replyTo: string }
  | { type: 'answer:cancel'; conversationId: string; requestedBy: string }
  /** A person's message into an agent exchange (a Matrix agent room): the agents' next steps must answer it. */
  | { type: 'exchange:interrupt'; conversationId: string; requestedBy: string; from: string; text: string; id: string }
  | { type: 'session:info'; conversationId: string; info: unknown }
  | { type: 'conversation:updated'; conversationId: string; change: 'title' | 'archived' | 'unarchived' | 'deleted' | 'agent' | 'model' | 'shared' | 'unshared'; title?: string }
  /** A person typing on one surface (a socket session); never stored. */
  | { type: 'typing'; conversationId: string; sessionId: string; userId: string; typing: boolean };

/** The answer being written in a conversation, as far as it has been published. */
export interface LiveAnswer {
  started: AnswerStartedEvent;
  /** The seq of the last delta included in `text` and `thinking`. */
  seq: number;
  text: string;
  thinking: string;
}

export type EventHandler = (event: ConversationEvent) => void;

/** A snapshot outlives a crashed writer by at most this long. */
const LIVE_TTL_MS = 15 * 60_000;

// KEYS: state hash, text, thinking. ARGV: channel, payload, replyId, seq, ttl, [started json | text, thinking].
const STARTED = `redis.call('del', KEYS[2], KEYS[3])
redis.call('hset', KEYS[1], 'replyId', ARGV[3], 'seq', ARGV[4], 'started', ARGV[6])
for i = 1, 3 do redis.call('pexpire', KEYS[i], ARGV[5]) end
return redis.call('publish', ARGV[1], ARGV[2])`;
const DELTA = `if redis.call('hget', KEYS[1], 'replyId') == ARGV[3] then
  if ARGV[6] ~= '' then redis.call('append', KEYS[2], ARGV[6]) end
  if ARGV[7] ~= '' then redis.call('append', KEYS[3], ARGV[7]) end
  redis.call('hset', KEYS[1], 'seq', ARGV[4])
  for i = 1, 3 do redis.call('pexpire', KEYS[i], ARGV[5]) end
end
return redis.call('publish', ARGV[1], ARGV[2])`;
const ENDED = `if redis.call('hget', KEYS[1], 'replyId') == ARGV[3] then redis.call('del', KEYS[1], KEYS[2], KEYS[3]) end
return redis.call('publish', ARGV[1], ARGV[2])`;

export class ConversationBus {
  private readonly handlers = new Map<string, Set<EventHandler>>();
  private subscribed: Promise<unknown> | null = null;
  private readonly reconnectHandlers = new Set<() => void>();
  private lostSubscription = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly logger?: Logger,
  ) {
    // Events published while the subscription was down are lost: whoever follows conversations is told
    // when it is back, to read what was stored meanwhile (src/live/conversation-feed.ts resyncs).
    subscriber.on('close', () => (this.lostSubscription = true));
    subscriber.on('ready', () => {
      if (!this.lostSubscription) return;
      this.lostSubscription = false;
      for (const handler of [...this.reconnectHandlers]) handler();
    });
    subscriber.on('pmessage', (_pattern: string, channel: string, payload: string) => {
      let event: ConversationEvent;
      try {
        event = JSON.parse(payload) as ConversationEvent;
      } catch {
        return;
      }
      const conversationId = channel.slice(this.channelFor('').length);
      for (const key of [conversationId, '*']) {
        for (const handler of this.handlers.get(key) ?? []) {
          try {
            handler(event);
          } catch (err) {
            this.logger?.error({ err, event: 'bus.handler_failed' }, 'conversation event handler failed');
          }
        }
      }
    });
  }

  private channelFor(conversationId: string): string {
    return `${this.prefix}:conv:${conversationId}`;
  }

  private liveKeys(conversationId: string): [string, string, string] {
    const base = ephemeralKey(this.prefix, 'answer', conversationId);
    return [base, `${base}:text`, `${base}:thinking`];
  }

  async publish(event: ConversationEvent): Promise<void> {
    const channel = this.channelFor(event.conversationId);
    const payload = JSON.stringify(event);
    const keys = () => this.liveKeys(event.conversationId);
    switch (event.type) {
      case 'answer:started':
        await this.publisher.eval(STARTED, 3, ...keys(), channel, payload, event.replyId, String(event.seq), String(LIVE_TTL_MS), payload);
        return;
      case 'answer:delta':
        await this.publisher.eval(DELTA, 3, ...keys(), channel, payload, event.replyId, String(event.seq), String(LIVE_TTL_MS), event.text ?? '', event.thinking ?? '');
        return;
      case 'answer:final':
      case 'answer:failed':
      case 'answer:stopped':
        await this.publisher.eval(ENDED, 3, ...keys(), channel, payload, event.replyId);
        return;
      default:
        await this.publisher.publish(channel, payload);
    }
  }

  /** The answer being written in the conversation now, or null. */
  async liveAnswer(conversationId: string): Promise<LiveAnswer | null> {
    const [state, text, thinking] = this.liveKeys(conversationId);
    const results = await this.publisher.multi().hgetall(state).get(text).get(thinking).exec();
    if (!results) return null;
    const [[, hash], [, t], [, th]] = results as [[unknown, Record<string, string>], [unknown, string | null], [unknown, string | null]];
    if (!hash.started) return null;
    return { started: JSON.parse(hash.started) as AnswerStartedEvent, seq: Number(hash.seq ?? 0), text: t ?? '', thinking: th ?? '' };
  }

  /** Calls `handler` each time the subscription is back after it was lost (events may have been missed). */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  /** Subscribes to one conversation's events, or every conversation's with '*'. */
  async subscribe(conversationId: string, handler: EventHandler): Promise<() => void> {
    this.subscribed ??= this.subscriber.psubscribe(`${this.channelFor('')}*`);
    await this.subscribed;
    const set = this.handlers.get(conversationId) ?? new Set();
    set.add(handler);
    this.handlers.set(conversationId, set);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(conversationId);
    };
  }
}
