/**
 * Outbound recovery: an answer or notice stored in PostgreSQL whose send to
 * the room never happened (a crash, a homeserver outage longer than the
 * client's retries) is delivered by a sweep at start and then periodically.
 * The sweep goes through the reply streamer, so the Valkey claims (one
 * replica per message) and the transaction ids derived from the message id
 * (a repeated send is the same event) make it exactly once.
 */
import type { ConversationStore } from '../../src/conversations/conversation-store.ts';
import { toView } from '../../src/conversations/conversation-events.ts';
import type { Actor } from '../../src/identity/actor.ts';
import type { Logger } from '../../src/logging.ts';
import { errorMessage } from '../../src/errors.ts';
import type { ReplyStreamer } from './reply-streamer.ts';
import type { RoomStore } from '../rooms/room-store.ts';

export interface DeliveryRecoveryOptions {
  rooms: RoomStore;
  conversations: ConversationStore;
  streamer: ReplyStreamer;
  ownerActor(userId: string): Promise<Actor | null>;
  logger: Logger;
  /** How far back undelivered messages are looked for (default 24 h). */
  lookbackMs?: number;
  /**
   * Messages younger than this are left to the live delivery, which is
   * probably still sending them (default 30 s).
   */
  graceMs?: number;
}

export class DeliveryRecovery {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly o: DeliveryRecoveryOptions) {}

  /** One pass; the number of undelivered messages handed to the streamer. Passes never overlap. */
  sweep(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  start(intervalMs: number): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<number> {
    const now = Date.now();
    let delivered = 0;
    try {
      const due = await this.o.rooms.undeliveredSince(new Date(now - (this.o.lookbackMs ?? 24 * 3600_000)), new Date(now - (this.o.graceMs ?? 30_000)));
      for (const { conversationId, ownerId, messageId } of due) {
        try {
          const owner = await this.o.ownerActor(ownerId);
          const mapped = owner ? await this.o.rooms.byConversation(conversationId) : null;
          const row = owner && mapped ? await this.o.conversations.getMessage(owner, messageId) : null;
          if (!mapped || !row) continue;
          await this.o.streamer.redeliver(mapped, toView(row));
          delivered++;
          this.o.logger.info({ channel: 'matrix', event: 'delivery.recovered', conversationId, messageId, roomId: mapped.room.roomId }, 'undelivered message handed to the streamer');
        } catch (err) {
          this.o.logger.warn({ channel: 'matrix', event: 'delivery.retry_failed', conversationId, messageId, err: errorMessage(err) }, 'undelivered message could not be sent yet');
        }
      }
    } catch (err) {
      this.o.logger.warn({ channel: 'matrix', event: 'delivery.sweep_failed', err: errorMessage(err) }, 'recovery sweep failed');
    }
    return delivered;
  }
}
