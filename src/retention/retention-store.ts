/**
 * Retention's storage: the admin overrides per room kind and per
 * conversation, a person's own limit on their conversations, and the
 * purge's reads and deletes. Only `ownerSettings`/`setOwnerDays` act for a
 * person (scoped to their own conversations); the rest is admin or
 * housekeeping work and returns ids, dates and policy numbers, never
 * message content to anyone but the purge itself.
 */
import { and, asc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { sqlRows, type Db } from '../db/client.ts';
import { conversationRetention, conversations, messages, retentionKindOverrides } from '../db/schema.ts';
import { notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import type { ConversationRetentionSettings, RetentionDays } from './policy.ts';
import type { RoomKind } from './room-kind.ts';

export type ConversationRow = typeof conversations.$inferSelect;

/** What a channel eraser needs to know about a message to find its events. */
export interface PurgeMessage {
  id: string;
  conversationId: string;
  seq: number;
  channel: string;
  externalId: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface PurgeCandidate {
  conversation: ConversationRow;
  settings: ConversationRetentionSettings | null;
}

const settingsOf = (row: typeof conversationRetention.$inferSelect | null | undefined): ConversationRetentionSettings | null =>
  row ? { adminOverride: row.adminOverride, adminDays: row.adminDays, ownerDays: row.ownerDays } : null;

export class RetentionStore {
  constructor(private readonly db: Db) {}

  // ---- policies ---------------------------------------------------------------------------

  async kindOverrides(): Promise<Map<RoomKind, RetentionDays>> {
    const rows = await this.db.select().from(retentionKindOverrides);
    return new Map(rows.map((r) => [r.kind, r.retentionDays]));
  }

  async setKindOverride(kind: RoomKind, days: RetentionDays): Promise<void> {
    await this.db
      .insert(retentionKindOverrides)
      .values({ kind, retentionDays: days })
      .onConflictDoUpdate({ target: retentionKindOverrides.kind, set: { retentionDays: days, updatedAt: new Date() } });
  }

  async clearKindOverride(kind: RoomKind): Promise<void> {
    await this.db.delete(retentionKindOverrides).where(eq(retentionKindOverrides.kind, kind));
  }

  /** Admin: every conversation with an admin override (ids and days only). */
  async conversationOverrides(): Promise<Array<{ conversationId: string; days: RetentionDays; updatedAt: Date }>> {
    const rows = await this.db
      .select({ conversationId: conversationRetention.conversationId, days: conversationRetention.adminDays, updatedAt: conversationRetention.updatedAt })
      .from(conversationRetention)
      .where(eq(conversationRetention.adminOverride, true))
      .orderBy(asc(conversationRetention.conversationId));
    return rows;
  }

  /** Admin or housekeeping: a conversation (not deleted) and its settings; null when there is none. */
  async conversationWithSettings(conversationId: string): Promise<PurgeCandidate | null> {
    const [row] = await this.db
      .select({ c: conversations, r: conversationRetention })
      .from(conversations)
      .leftJoin(conversationRetention, eq(conversationRetention.conversationId, conversations.id))
      .where(and(eq(conversations.id, conversationId), isNull(conversations.deletedAt)))
      .limit(1);
    return row ? { conversation: row.c, settings: settingsOf(row.r) } : null;
  }

  /** Admin: sets (days, or null for forever) or removes (undefined) the override of one conversation. */
  async setConversationOverride(conversationId: string, days: RetentionDays | undefined): Promise<void> {
    if (!(await this.conversationWithSettings(conversationId))) throw notFound('conversation');
    const values = days === undefined ? { adminOverride: false, adminDays: null } : { adminOverride: true, adminDays: days };
    await this.db
      .insert(conversationRetention)
      .values({ conversationId, ...values })
      .onConflictDoUpdate({ target: conversationRetention.conversationId, set: { ...values, updatedAt: new Date() } });
  }

  /** The actor's own conversation and its settings (404 when it is not theirs). */
  async ownerSettings(actor: Actor, conversationId: string): Promise<PurgeCandidate> {
    const [row] = await this.db
      .select({ c: conversations, r: conversationRetention })
      .from(conversations)
      .leftJoin(conversationRetention, eq(conversationRetention.conversationId, conversations.id))
      .where(and(eq(conversations.id, conversationId), eq(conversations.ownerId, actor.userId), isNull(conversations.deletedAt)))
      .limit(1);
    if (!row) throw notFound('conversation');
    return { conversation: row.c, settings: settingsOf(row.r) };
  }

  /** The owner's own limit on one of their conversations (null: none). 404 when it is not theirs. */
  async setOwnerDays(actor: Actor, conversationId: string, days: RetentionDays): Promise<void> {
    await this.ownerSettings(actor, conversationId);
    await this.db
      .insert(conversationRetention)
      .values({ conversationId, ownerDays: days })
      .onConflictDoUpdate({ target: conversationRetention.conversationId, set: { ownerDays: days, updatedAt: new Date() } });
  }

  // ---- the purge --------------------------------------------------------------------------

  /** The shortest retention any conversation can have now, given the kinds' days: conversations with nothing older are skipped. */
  async shortestDays(kindDays: RetentionDays[]): Promise<RetentionDays> {
    const [row] = await sqlRows<{ admin: number | null; owner: number | null }>(
      this.db,
      sql`select min(admin_days) filter (where admin_override) as admin, min(owner_days) as owner from conversation_retention`,
    );
    const all = [...kindDays, row?.admin ?? null, row?.owner ?? null].filter((d): d is number => d !== null);
    return all.length ? Math.min(...all) : null;
  }

  /** Housekeeping: conversations (not deleted) with a message older than `olderThan`, by id after `afterId`. */
  async candidates(olderThan: Date, afterId: string | null, limit: number): Promise<PurgeCandidate[]> {
    const rows = await this.db
      .select({ c: conversations, r: conversationRetention })
      .from(conversations)
      .leftJoin(conversationRetention, eq(conversationRetention.conversationId, conversations.id))
      .where(
        and(
          isNull(conversations.deletedAt),
          afterId ? gt(conversations.id, afterId) : undefined,
          sql`exists (select 1 from ${messages} m where m.conversation_id = ${conversations.id} and m.created_at < ${olderThan})`,
        ),
      )
      .orderBy(asc(conversations.id))
      .limit(limit);
    return rows.map((r) => ({ conversation: r.c, settings: settingsOf(r.r) }));
  }

  /**
   * A conversation's messages past `cutoff`, oldest first, with the edits
   * of such messages and edits whose original is gone (an edit carries the
   * text of the message it edits). Messages marked failed since `runStart`
   * are left for the next run, so one run never loops on them.
   */
  async expiredMessages(conversationId: string, cutoff: Date, runStart: Date, limit: number): Promise<PurgeMessage[]> {
    const rows = await sqlRows<{ id: string; conversation_id: string; seq: string | number; channel: string; external_id: string | null; metadata: Record<string, unknown>; created_at: string | Date }>(
      this.db,
      sql`select m.id, m.conversation_id, m.seq, m.channel, m.external_id, m.metadata, m.created_at
          from messages m
          where m.conversation_id = ${conversationId}
            and (m.retention_failed_at is null or m.retention_failed_at < ${runStart})
            and (m.created_at < ${cutoff}
                 or (m.edit_of is not null and not exists (select 1 from messages o where o.id = m.edit_of and o.created_at >= ${cutoff})))
          order by m.seq limit ${limit}`,
    );
    return rows.map((r) => ({ id: r.id, conversationId: r.conversation_id, seq: Number(r.seq), channel: r.channel, externalId: r.external_id, metadata: r.metadata ?? {}, createdAt: new Date(r.created_at) }));
  }

  /**
   * Deletes these messages of one conversation (their search entries go
   * with them: the index is a column of the row). A summary that covered
   * any of them would still quote them, so it is dropped; the scheduled
   * summarization writes a new one from what is left when one is due.
   */
  async deleteMessages(conversationId: string, ids: string[]): Promise<{ deleted: number; summaryDropped: boolean }> {
    if (ids.length === 0) return { deleted: 0, summaryDropped: false };
    return this.db.transaction(async (tx) => {
      const [conv] = await tx.select({ through: conversations.summarizedThroughSeq, summary: conversations.summary }).from(conversations).where(eq(conversations.id, conversationId)).for('update');
      const gone = await tx.delete(messages).where(and(eq(messages.conversationId, conversationId), inArray(messages.id, ids))).returning({ seq: messages.seq });
      const covered = conv?.through != null && gone.some((g) => g.seq <= conv.through!);
      const summaryDropped = covered && conv?.summary != null;
      if (covered) await tx.update(conversations).set({ summary: null, summarizedThroughSeq: null }).where(eq(conversations.id, conversationId));
      return { deleted: gone.length, summaryDropped };
    });
  }

  /** When the conversation's oldest remaining message was created (null: it has none). */
  async oldestMessageAt(conversationId: string): Promise<Date | null> {
    const [row] = await sqlRows<{ at: string | Date | null }>(this.db, sql`select min(created_at) as at from messages where conversation_id = ${conversationId}`);
    return row?.at ? new Date(row.at) : null;
  }

  /** Marks messages whose channel side could not be removed: they stay, and the next run tries again. */
  async markFailed(ids: string[], error: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db.update(messages).set({ retentionFailedAt: new Date(), retentionError: error.slice(0, 1000) }).where(inArray(messages.id, ids));
  }

  /** Housekeeping: deleted conversations still waiting to be erased, by id after `afterId`. */
  async deletedConversations(afterId: string | null, limit: number): Promise<string[]> {
    const rows = await this.db
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(isNotNull(conversations.deletedAt), afterId ? gt(conversations.id, afterId) : undefined))
      .orderBy(asc(conversations.id))
      .limit(limit);
    return rows.map((r) => r.id);
  }

  /** Whether the conversation is deleted and still waiting to be erased. */
  async isDeleted(conversationId: string): Promise<boolean> {
    const rows = await this.db.select({ id: conversations.id }).from(conversations).where(and(eq(conversations.id, conversationId), isNotNull(conversations.deletedAt))).limit(1);
    return rows.length > 0;
  }

  async markEraseFailed(conversationId: string, error: string): Promise<void> {
    await this.db.update(conversations).set({ eraseError: error.slice(0, 1000) }).where(eq(conversations.id, conversationId));
  }

  /** Removes a deleted conversation for good, with its messages (cascade); only one already deleted by its owner. */
  async removeDeleted(conversationId: string): Promise<{ removed: boolean; messages: number }> {
    return this.db.transaction(async (tx) => {
      const [count] = await tx.select({ n: sql<number>`count(*)::int` }).from(messages).where(eq(messages.conversationId, conversationId));
      const rows = await tx.delete(conversations).where(and(eq(conversations.id, conversationId), isNotNull(conversations.deletedAt))).returning({ id: conversations.id });
      return { removed: rows.length > 0, messages: rows.length > 0 ? (count?.n ?? 0) : 0 };
    });
  }
}
