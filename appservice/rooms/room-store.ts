/**
 * Which Matrix room is which conversation (conversation_matrix_rooms), and
 * the Matrix-side facts Mosaic keeps about the room: reply mode, when we
 * joined, encryption, tombstone. Also the few message lookups the channel
 * needs by Matrix event id, and the search for undelivered answers. These
 * stay here, unscoped, because they run before an actor is known (an
 * event arrives for a room, not for a user) and return ids or relation
 * facts, never listings of someone's messages; writes to messages go
 * through the ConversationStore as the conversation's owner.
 */
import { and, desc, eq, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import { sqlRows, type Db } from '../../src/db/client.ts';
import { appserviceEvents, conversationMatrixRooms, conversations, messages } from '../../src/db/schema.ts';

export type RoomRow = typeof conversationMatrixRooms.$inferSelect;
export type ReplyMode = RoomRow['replyMode'];

export interface RoomWithConversation {
  room: RoomRow;
  ownerId: string;
  agentId: string | null;
  title: string;
  archived: boolean;
  deleted: boolean;
}

export class RoomStore {
  constructor(private readonly db: Db) {}

  async byRoomId(roomId: string): Promise<RoomWithConversation | null> {
    const [row] = await this.db
      .select({ room: conversationMatrixRooms, c: conversations })
      .from(conversationMatrixRooms)
      .innerJoin(conversations, eq(conversations.id, conversationMatrixRooms.conversationId))
      .where(eq(conversationMatrixRooms.roomId, roomId))
      .limit(1);
    return row ? { room: row.room, ownerId: row.c.ownerId, agentId: row.c.agentId, title: row.c.title, archived: row.c.archivedAt !== null, deleted: row.c.deletedAt !== null } : null;
  }

  async byConversation(conversationId: string): Promise<RoomWithConversation | null> {
    const [row] = await this.db
      .select({ room: conversationMatrixRooms, c: conversations })
      .from(conversationMatrixRooms)
      .innerJoin(conversations, eq(conversations.id, conversationMatrixRooms.conversationId))
      .where(eq(conversationMatrixRooms.conversationId, conversationId))
      .limit(1);
    return row ? { room: row.room, ownerId: row.c.ownerId, agentId: row.c.agentId, title: row.c.title, archived: row.c.archivedAt !== null, deleted: row.c.deletedAt !== null } : null;
  }

  /**
   * Links a room to a conversation. When two replicas race, the first link
   * wins and both get it back. `botJoinedAt`: messages stamped before it
   * are not answered (a room Mosaic was invited into); null for rooms
   * Mosaic created, where nothing can precede it.
   */
  async link(input: { conversationId: string; roomId: string; botJoinedAt: Date | null; encrypted?: boolean }): Promise<RoomRow> {
    await this.db
      .insert(conversationMatrixRooms)
      .values({ conversationId: input.conversationId, roomId: input.roomId, botJoinedAt: input.botJoinedAt, encrypted: input.encrypted ?? false })
      .onConflictDoNothing();
    const [row] = await this.db.select().from(conversationMatrixRooms).where(eq(conversationMatrixRooms.conversationId, input.conversationId)).limit(1);
    return row!;
  }

  async setReplyMode(conversationId: string, mode: ReplyMode): Promise<boolean> {
    const rows = await this.db.update(conversationMatrixRooms).set({ replyMode: mode }).where(eq(conversationMatrixRooms.conversationId, conversationId)).returning({ id: conversationMatrixRooms.conversationId });
    return rows.length > 0;
  }

  /** Marks the room encrypted; true only for the call that changed it (so the notice is said once). */
  async markEncrypted(roomId: string): Promise<boolean> {
    const rows = await this.db
      .update(conversationMatrixRooms)
      .set({ encrypted: true })
      .where(and(eq(conversationMatrixRooms.roomId, roomId), eq(conversationMatrixRooms.encrypted, false)))
      .returning({ id: conversationMatrixRooms.conversationId });
    return rows.length > 0;
  }

  /** True only for the call that tombstoned it. */
  async markTombstoned(conversationId: string): Promise<boolean> {
    const rows = await this.db
      .update(conversationMatrixRooms)
      .set({ tombstonedAt: new Date() })
      .where(and(eq(conversationMatrixRooms.conversationId, conversationId), isNull(conversationMatrixRooms.tombstonedAt)))
      .returning({ id: conversationMatrixRooms.conversationId });
    return rows.length > 0;
  }

  /**
   * Moves a conversation from its tombstoned room to `toRoomId`. The move
   * only happens from that exact tombstoned room, so of two replicas
   * reopening at once one wins (the other gets null) and a later archive
   * of the new room is not undone by a stale reopen. The link time is reset
   * to now: the recovery sweep must not replay older messages into the new
   * room. The new room is one Mosaic created: no "before Mosaic joined".
   */
  async relink(conversationId: string, fromRoomId: string, toRoomId: string): Promise<RoomRow | null> {
    const now = new Date();
    const [row] = await this.db
      .update(conversationMatrixRooms)
      .set({ roomId: toRoomId, tombstonedAt: null, encrypted: false, botJoinedAt: null, createdAt: now })
      .where(and(eq(conversationMatrixRooms.conversationId, conversationId), eq(conversationMatrixRooms.roomId, fromRoomId), isNotNull(conversationMatrixRooms.tombstonedAt)))
      .returning();
    return row ?? null;
  }

  /**
   * The room was only marked as closed (Mosaic could not tombstone it, see
   * RoomManager.tombstone): it is answered in again. True only for the call
   * that reopened it.
   */
  async clearTombstone(conversationId: string, roomId: string): Promise<boolean> {
    const rows = await this.db
      .update(conversationMatrixRooms)
      .set({ tombstonedAt: null })
      .where(and(eq(conversationMatrixRooms.conversationId, conversationId), eq(conversationMatrixRooms.roomId, roomId), isNotNull(conversationMatrixRooms.tombstonedAt)))
      .returning({ id: conversationMatrixRooms.conversationId });
    return rows.length > 0;
  }

  /** The user's conversations with their rooms (if any), newest first. */
  async conversationsOf(userId: string, limit = 20): Promise<Array<{ id: string; title: string; archived: boolean; roomId: string | null }>> {
    const rows = await this.db
      .select({ id: conversations.id, title: conversations.title, archivedAt: conversations.archivedAt, roomId: conversationMatrixRooms.roomId })
      .from(conversations)
      .leftJoin(conversationMatrixRooms, eq(conversationMatrixRooms.conversationId, conversations.id))
      .where(and(eq(conversations.ownerId, userId), isNull(conversations.deletedAt)))
      .orderBy(desc(conversations.updatedAt))
      .limit(limit);
    return rows.map((r) => ({ id: r.id, title: r.title, archived: r.archivedAt !== null, roomId: r.roomId }));
  }

  /** The rooms of every conversation the user owns (archived ones too): the rooms Mosaic manages for them. */
  async roomsOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .select({ roomId: conversationMatrixRooms.roomId })
      .from(conversationMatrixRooms)
      .innerJoin(conversations, eq(conversations.id, conversationMatrixRooms.conversationId))
      .where(eq(conversations.ownerId, userId));
    return rows.map((r) => r.roomId);
  }

  // ---- retention: what a conversation left on the homeserver -----------------------------

  /** The room a pushed event arrived in (from the event journal); null when it was never pushed here. */
  async roomOfEvent(eventId: string): Promise<string | null> {
    const [row] = await this.db.select({ roomId: appserviceEvents.roomId }).from(appserviceEvents).where(eq(appserviceEvents.eventId, eventId)).limit(1);
    return row?.roomId ?? null;
  }

  /**
   * Every room a conversation has had (its room now, rooms it moved out of
   * when it was unarchived — known from its messages' delivery records and
   * the journal), when it was deleted, and whether it was erased already.
   * Null when the conversation has no room. Housekeeping: ids and dates.
   */
  async roomsToErase(conversationId: string): Promise<{ current: RoomRow; roomIds: string[]; deletedAt: Date | null } | null> {
    const [row] = await this.db
      .select({ room: conversationMatrixRooms, deletedAt: conversations.deletedAt })
      .from(conversationMatrixRooms)
      .innerJoin(conversations, eq(conversations.id, conversationMatrixRooms.conversationId))
      .where(eq(conversationMatrixRooms.conversationId, conversationId))
      .limit(1);
    if (!row) return null;
    const past = await sqlRows<{ room_id: string }>(
      this.db,
      sql`select distinct m.metadata->'matrix'->>'roomId' as room_id from messages m
            where m.conversation_id = ${conversationId} and m.metadata->'matrix'->>'roomId' is not null
          union
          select distinct e.room_id from messages m join appservice_events e on e.event_id = m.external_id
            where m.conversation_id = ${conversationId} and m.channel = 'matrix'`,
    );
    const roomIds = [...new Set([row.room.roomId, ...past.map((p) => p.room_id)])];
    return { current: row.room, roomIds, deletedAt: row.deletedAt };
  }

  /** The conversation's rooms were redacted, closed and left; true only for the call that marked it. */
  async markErased(conversationId: string): Promise<boolean> {
    const rows = await this.db
      .update(conversationMatrixRooms)
      .set({ erasedAt: new Date() })
      .where(and(eq(conversationMatrixRooms.conversationId, conversationId), isNull(conversationMatrixRooms.erasedAt)))
      .returning({ id: conversationMatrixRooms.conversationId });
    return rows.length > 0;
  }

  /** Forgets journalled events (their payload holds the message's text) once they are redacted. */
  async forgetEvents(eventIds: string[]): Promise<number> {
    if (eventIds.length === 0) return 0;
    const rows = await this.db.delete(appserviceEvents).where(and(inArray(appserviceEvents.eventId, eventIds), inArray(appserviceEvents.status, ['done', 'skipped', 'failed']))).returning({ id: appserviceEvents.eventId });
    return rows.length;
  }

  /** Forgets every journalled event of these rooms (a deleted conversation's, once its rooms are erased). */
  async forgetRoomEvents(roomIds: string[]): Promise<number> {
    if (roomIds.length === 0) return 0;
    const rows = await this.db.delete(appserviceEvents).where(and(inArray(appserviceEvents.roomId, roomIds), inArray(appserviceEvents.status, ['done', 'skipped', 'failed']))).returning({ id: appserviceEvents.eventId });
    return rows.length;
  }

  // ---- messages by Matrix event id -------------------------------------------------------

  /** Our message id for a Matrix event in this conversation: an inbound message, or a reply we sent. */
  async messageIdForEvent(conversationId: string, eventId: string): Promise<string | null> {
    const [row] = await this.db
      .select({ id: messages.id })
      .from(messages)
      .where(
        and(
          eq(messages.conversationId, conversationId),
          or(
            and(eq(messages.channel, 'matrix'), eq(messages.externalId, eventId)),
            sql`${messages.metadata}->'matrix'->>'eventId' = ${eventId}`,
            // An answer sent as several messages: any of them is the answer.
            sql`${messages.metadata}->'matrix'->'eventIds' @> ${JSON.stringify([eventId])}::jsonb`,
          ),
        ),
      )
      .limit(1);
    return row?.id ?? null;
  }

  /** The Matrix event a stored message is (inbound) or was sent as (a reply). */
  async eventIdForMessage(messageId: string): Promise<string | null> {
    const [row] = await this.db.select({ externalId: messages.externalId, channel: messages.channel, metadata: messages.metadata }).from(messages).where(eq(messages.id, messageId)).limit(1);
    if (!row) return null;
    if (row.channel === 'matrix') return row.externalId;
    const matrix = row.metadata.matrix as { eventId?: unknown } | undefined;
    return typeof matrix?.eventId === 'string' ? matrix.eventId : null;
  }

  /** What the outbound side needs to know about a stored message to relate an answer to it. */
  async messageBrief(messageId: string): Promise<{ channel: string; externalId: string | null; threadId: string | null; senderName: string | null } | null> {
    const [row] = await this.db
      .select({ channel: messages.channel, externalId: messages.externalId, threadId: messages.threadId, metadata: messages.metadata })
      .from(messages)
      .where(eq(messages.id, messageId))
      .limit(1);
    if (!row) return null;
    return { channel: row.channel, externalId: row.externalId, threadId: row.threadId, senderName: typeof row.metadata.senderName === 'string' ? row.metadata.senderName : null };
  }

  /**
   * Outbound recovery: answers and notices of conversations with a room
   * that were stored since `since` (and after the room was linked, so a
   * conversation opened in Matrix later does not replay its past) but have
   * no recorded Matrix event. Unscoped because it runs for every room the
   * appservice serves, before an actor is known; it returns ids and owners
   * only, and every read after it acts as the owner.
   */
  async undeliveredSince(since: Date, before: Date, limit = 200): Promise<Array<{ conversationId: string; ownerId: string; messageId: string }>> {
    return sqlRows<{ conversationId: string; ownerId: string; messageId: string }>(
      this.db,
      sql`select m.conversation_id as "conversationId", c.owner_id as "ownerId", m.id as "messageId"
          from conversation_matrix_rooms r
          join conversations c on c.id = r.conversation_id
          join messages m on m.conversation_id = r.conversation_id
          where m.created_at > ${since} and m.created_at < ${before} and m.created_at >= r.created_at
            and r.encrypted = false and r.tombstoned_at is null
            and c.deleted_at is null and c.archived_at is null
            and m.redacted_at is null and m.metadata->'matrix' is null
            and (m.role = 'system' or (m.role = 'assistant' and coalesce((m.metadata->>'final')::boolean, false)))
          order by m.seq limit ${limit}`,
    );
  }
}
