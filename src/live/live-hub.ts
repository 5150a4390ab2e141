/**
 * One replica's end of the conversation bus for live surfaces: a single
 * subscription to every conversation's events, handed to the feeds (socket
 * subscriptions, event streams) that follow each conversation here. An
 * event is encoded once, whatever the number of feeds; conversations nobody
 * follows on this replica cost a map lookup.
 */
import type { ConversationBus, ConversationEvent } from '../conversations/conversation-bus.ts';
import { eventFrame, type EncodedFrame } from './frames.ts';

export interface FeedTarget {
  accept(event: ConversationEvent, frame: EncodedFrame): void;
  /** The bus was down and may have lost events: read what was stored since the last one sent. */
  resync?(): void;
}

export class LiveHub {
  private readonly feeds = new Map<string, Set<FeedTarget>>();
  private unsubscribe: (() => void) | null = null;
  private offReconnect: (() => void) | null = null;

  constructor(readonly bus: ConversationBus) {}

  async start(): Promise<void> {
    this.unsubscribe ??= await this.bus.subscribe('*', (event) => this.dispatch(event));
    this.offReconnect ??= this.bus.onReconnect(() => this.resyncAll());
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.offReconnect?.();
    this.offReconnect = null;
  }

  /** After a bus outage every feed reads the store again, so a final message published during it is not lost. */
  resyncAll(): void {
    for (const set of this.feeds.values()) for (const feed of [...set]) feed.resync?.();
  }

  attach(conversationId: string, feed: FeedTarget): () => void {
    let set = this.feeds.get(conversationId);
    if (!set) this.feeds.set(conversationId, (set = new Set()));
    set.add(feed);
    return () => {
      set.delete(feed);
      if (set.size === 0 && this.feeds.get(conversationId) === set) this.feeds.delete(conversationId);
    };
  }

  /** Feeds following conversations on this replica. */
  get size(): number {
    let n = 0;
    for (const set of this.feeds.values()) n += set.size;
    return n;
  }

  private dispatch(event: ConversationEvent): void {
    const set = this.feeds.get(event.conversationId);
    if (!set) return;
    const frame = eventFrame(event);
    if (!frame) return;
    // A copy: a feed may detach itself (a deleted conversation) while being handed the event.
    for (const feed of [...set]) feed.accept(event, frame);
  }
}
