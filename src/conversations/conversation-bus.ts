/**
 * Fan-out of conversation events over Valkey pub/sub, so every surface on
 * every replica sees a message the moment it is stored, and streamed
 * answers as they grow.
 */
import type { Redis } from '../valkey/client.ts';
import type { Logger } from '../logging.ts';

export interface StoredMessageView {
  id: string;
  conversationId: string;
  seq: number;
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
  metadata: Record<string, unknown>;
  createdAt: string;
}

export type ConversationEvent =
  | { type: 'message:new'; conversationId: string; message: StoredMessageView }
  | { type: 'answer:started'; conversationId: string; replyId: string; replyTo: string; agentId: string | null; provider: string; model: string; routing: unknown }
  | { type: 'answer:delta'; conversationId: string; replyId: string; text: string }
  | { type: 'answer:failed'; conversationId: string; replyId: string; replyTo: string; notice: string }
  | { type: 'answer:stopped'; conversationId: string; replyId: string; replyTo: string }
  | { type: 'answer:cancel'; conversationId: string; requestedBy: string }
  | { type: 'session:info'; conversationId: string; info: unknown }
  | { type: 'conversation:updated'; conversationId: string; change: 'title' | 'archived' | 'unarchived' | 'deleted' | 'agent' | 'model'; title?: string };

export type EventHandler = (event: ConversationEvent) => void;

export class ConversationBus {
  private readonly handlers = new Map<string, Set<EventHandler>>();
  private subscribed: Promise<unknown> | null = null;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly logger?: Logger,
  ) {
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

  async publish(event: ConversationEvent): Promise<void> {
    await this.publisher.publish(this.channelFor(event.conversationId), JSON.stringify(event));
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
