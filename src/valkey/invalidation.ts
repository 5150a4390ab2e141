/**
 * Cache invalidation across replicas: a replica that changes what others
 * cache publishes the topic on one Valkey channel, and every replica
 * (itself included) drops what it cached. While the subscriber connection
 * is down messages are lost, so every handler also runs when it comes back.
 */
import type { Redis } from './client.ts';

export class ValkeyInvalidation {
  private readonly handlers = new Map<string, Set<() => void>>();
  private subscribed: Promise<unknown> | null = null;
  private readonly channel: string;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
  ) {
    this.channel = `${prefix}:invalidate`;
    subscriber.on('message', (channel: string, topic: string) => {
      if (channel === this.channel) this.run(this.handlers.get(topic));
    });
    // Reconnected: whatever was published meanwhile is gone; drop everything.
    subscriber.on('ready', () => {
      if (this.subscribed) for (const set of this.handlers.values()) this.run(set);
    });
  }

  async subscribe(topic: string, handler: () => void): Promise<void> {
    this.subscribed ??= this.subscriber.subscribe(this.channel);
    const set = this.handlers.get(topic) ?? new Set();
    set.add(handler);
    this.handlers.set(topic, set);
    await this.subscribed;
  }

  /** Tells every replica; best effort (each cache also expires on its own). */
  async publish(topic: string): Promise<void> {
    await this.publisher.publish(this.channel, topic).catch(() => undefined);
  }

  private run(set: Set<() => void> | undefined): void {
    for (const handler of set ?? []) handler();
  }
}
