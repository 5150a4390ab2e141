/**
 * How a stored message reached its room, recorded with it
 * (`metadata.matrix`): the Matrix events it was sent as — replies point at
 * the first; `eventIds` when it took several — and its state: `delivered`,
 * `fallback` (refused for good, delivered as plain text; `refusedWith` the
 * errcode) or `failed` (not delivered). Once recorded, the recovery sweep
 * leaves the message alone, so a refused send is never retried forever.
 */
import type { ConversationStore } from '../../src/conversations/conversation-store.ts';
import type { Actor } from '../../src/identity/actor.ts';
import type { RoomWithConversation } from '../rooms/room-store.ts';
import type { SendFailures } from './send-failures.ts';
import { refusalCode } from '../transport/matrix-client.ts';

export type DeliveryState = 'delivered' | 'fallback' | 'failed';

export class DeliveryRecord {
  constructor(
    private readonly conversations: ConversationStore,
    private readonly ownerActor: (userId: string) => Promise<Actor | null>,
    private readonly failures: SendFailures,
  ) {}

  private async write(mapped: RoomWithConversation, messageIds: string[], eventIds: string[], state: DeliveryState, refusal: unknown): Promise<void> {
    const owner = await this.ownerActor(mapped.ownerId);
    if (!owner) return;
    const info = {
      roomId: mapped.room.roomId,
      eventId: eventIds[0] ?? null,
      ...(eventIds.length > 1 ? { eventIds } : {}),
      state,
      ...(refusal === null ? {} : { refusedWith: refusalCode(refusal).errcode }),
    };
    for (const id of messageIds) await this.conversations.recordDelivery(owner, id, 'matrix', info);
  }

  /** Sent as `eventIds`; `refusal` (or null) is what made it go out as plain text. */
  async sent(mapped: RoomWithConversation, messageIds: string[], agentId: string | null, eventIds: string[], refusal: unknown): Promise<void> {
    await this.write(mapped, messageIds, eventIds, refusal === null ? 'delivered' : 'fallback', refusal);
    if (refusal !== null) await this.refused(mapped, messageIds[0]!, agentId, refusal, 'fallback');
  }

  /** Neither the message nor its plain fallback could be sent: recorded as failed, never tried again. */
  async failed(mapped: RoomWithConversation, messageIds: string[], agentId: string | null, err: unknown): Promise<void> {
    await this.refused(mapped, messageIds[0]!, agentId, err, 'failed');
    await this.write(mapped, messageIds, [], 'failed', err);
  }

  private async refused(mapped: RoomWithConversation, messageId: string, agentId: string | null, error: unknown, outcome: 'fallback' | 'failed'): Promise<void> {
    await this.failures.refused({ conversationId: mapped.room.conversationId, messageId, roomId: mapped.room.roomId, userId: mapped.ownerId, agentId, error, outcome });
  }
}
