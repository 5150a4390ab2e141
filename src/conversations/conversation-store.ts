/**
 * Conversations and their messages. Messages are append-only: an edit is a
 * new message pointing at the original. Every function takes the acting
 * user and only reaches the conversations that user may: reads reach the
 * user's own and those shared with a team the user is a member of
 * (`visibleTo`); changes reach the user's own only (`owned`).
 */
import { and, asc, desc, eq, getTableColumns, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sqlRows } from '../db/client.ts';
import { conversations, messages, sessions, teamMembers, users } from '../db/schema.ts';
import type { UserRow } from '../identity/user-store.ts';
import type { SessionRow } from './session-store.ts';
import { badRequest, notFound } from '../errors.ts';
import { isUuid } from '../db/uuid.ts';
import { SNIPPET_SOURCE_CHARS, snippetOf } from './search-snippet.ts';
import type { Actor } from '../identity/actor.ts';

export type ConversationRow = typeof conversations.$inferSelect;
export type MessageRow = typeof messages.$inferSelect;
export type NewMessage = Omit<typeof messages.$inferInsert, 'conversationId' | 'ownerId' | 'seq' | 'searchVector'>;
/** A message as just stored, with the seq of the conversation's message before it (null: the first; absent: stored earlier). */
export type AppendedMessage = MessageRow & { prevSeq?: number | null };

export interface Conversation {
  id: string;
  title: string;
  agentId: string | null;
  pinnedProvider: string | null;
  pinnedModel: string | null;
  localOnly: boolean;
  archived: boolean;
  /** The team it is shared with (its members see it too); null: only its owner. */
  teamId: string | null;
  /** Whether the acting user owns it (false: it is shared with one of their teams). */
  owned: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface SearchHit {
  messageId: string;
  conversationId: string;
  conversationTitle: string;
  role: string;
  snippet: string;
  rank: number;
  createdAt: Date;
}

export const MAX_TITLE_LENGTH = 200;

/** Whether a conversation is shared with a team (a team room on Matrix) rather than its owner's alone. */
export function isShared(row: Pick<ConversationRow, 'teamId'>): boolean {
  return row.teamId !== null;
}

/** What kind of room a conversation is, for policies that differ by kind (retention): `team` when shared, `personal` otherwise. */
export function conversationKind(row: Pick<ConversationRow, 'teamId'>): 'personal' | 'team' {
  return isShared(row) ? 'team' : 'personal';
}

export function toConversation(row: ConversationRow, actor: Actor): Conversation {
  return {
    id: row.id,
    title: row.title,
    agentId: row.agentId,
    pinnedProvider: row.pinnedProvider,
    pinnedModel: row.pinnedModel,
    localOnly: row.localOnly,
    archived: row.archivedAt !== null,
    teamId: row.teamId,
    owned: row.ownerId === actor.userId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const owned = (actor: Actor, id: string) => and(eq(conversations.id, id), eq(conversations.ownerId, actor.userId), isNull(conversations.deletedAt));

/** What answering reads first: the conversation, its next waiting message, the actor's active session in it. */
export interface PendingTurn {
  conv: ConversationRow;
  next: MessageRow | null;
  session: SessionRow | null;
}

/** Joins the conversation's oldest user message still waiting for an answer (commands and `noReply` messages are answered by other means). */
const nextWaiting = eq(
  messages.id,
  sql`(select m.id from messages m where m.conversation_id = ${conversations.id} and m.role = 'user'
         and coalesce((m.metadata->>'noReply')::boolean, false) = false
         and not exists (select 1 from messages r where r.reply_to_id = m.id and (r.role = 'system' or (r.role = 'assistant' and coalesce((r.metadata->>'final')::boolean, false))))
       order by m.seq limit 1)`,
);

/** Joins the user's active session in the conversation (the newest, should there be more). */
const activeSessionOf = (userId: string) =>
  eq(
    sessions.id,
    sql`(select s.id from sessions s where s.conversation_id = ${conversations.id} and s.user_id = ${userId} and s.status = 'active'
         order by s.started_at desc limit 1)`,
  );

/** The conversations the actor may read: their own, and those shared with a team they are a member of. */
const visibleTo = (actor: Actor) =>
  and(
    isNull(conversations.deletedAt),
    or(
      eq(conversations.ownerId, actor.userId),
      sql`exists (select 1 from ${teamMembers} where ${teamMembers.teamId} = ${conversations.teamId} and ${teamMembers.userId} = ${actor.userId})`,
    ),
  );
const visible = (actor: Actor, id: string) => and(eq(conversations.id, id), visibleTo(actor));

/**
 * Locks one of the actor's conversations until the transaction ends (404
 * when it is not theirs), marking it updated and applying `set`, in one
 * statement: an UPDATE takes the row lock a SELECT … FOR UPDATE would.
 * Appends take it before drawing their seq, so a conversation's messages
 * commit in seq order: whoever has read seq n has seen every earlier
 * message of it, which live replay and resume rely on.
 */
export async function lockConversation(
  tx: Pick<Db, 'update'>,
  actor: Actor,
  conversationId: string,
  set: Partial<typeof conversations.$inferInsert> = {},
  /** `visible`: a conversation shared with the actor's team too (to post in it; nothing else changes). */
  reach: 'owned' | 'visible' = 'owned',
): Promise<ConversationRow> {
  const [row] = await tx
    .update(conversations)
    .set({ updatedAt: new Date(), ...set })
    .where(reach === 'owned' ? owned(actor, conversationId) : visible(actor, conversationId))
    .returning();
  if (!row) throw notFound('conversation');
  return row;
}

/** Thrown inside an append's transaction to roll it back (the message was already stored). */
class AlreadyStored extends Error {}

async function inConversation(tx: Pick<Db, 'select'>, conversationId: string, messageId: string): Promise<boolean> {
  if (!isUuid(messageId)) return false;
  const rows = await tx.select({ id: messages.id }).from(messages).where(and(eq(messages.id, messageId), eq(messages.conversationId, conversationId))).limit(1);
  return rows.length > 0;
}

/**
 * The inserted row with the seq of the conversation's message before it.
 * Evaluated by the insert itself, after the lock: its snapshot holds every
 * message committed before (a query in the locking statement would not see
 * one committed while it waited), and not the row it inserts.
 */
const withPrevSeq = (conversationId: string) => ({
  ...getTableColumns(messages),
  prevSeq: sql<string | null>`(select max(m.seq) from messages m where m.conversation_id = ${conversationId})`,
});

const appended = ({ prevSeq, ...row }: MessageRow & { prevSeq: string | null }): AppendedMessage => ({ ...row, prevSeq: prevSeq === null ? null : Number(prevSeq) });

/**
 * Inserts a batch of messages into a locked conversation in one multi-row
 * statement. Rows already stored are skipped. Each new row's prevSeq is
 * the row before it in the batch; the first one's comes from the statement.
 */
export async function insertBatch(tx: Pick<Db, 'insert'>, conv: ConversationRow, batch: NewMessage[]): Promise<AppendedMessage[]> {
  if (batch.length === 0) return [];
  const rows = await tx
    .insert(messages)
    .values(batch.map((m) => ({ ...m, conversationId: conv.id, ownerId: conv.ownerId })))
    .onConflictDoNothing()
    .returning(withPrevSeq(conv.id));
  // max(seq) in the statement's snapshot: the conversation's newest message before this batch.
  const out = rows.map(appended).sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < out.length; i++) out[i]!.prevSeq = out[i - 1]!.seq;
  return out;
}

function cleanTitle(title: string): string {
  const t = title.replace(/\s+/g, ' ').trim();
  if (!t) throw badRequest('a title cannot be empty');
  if (t.length > MAX_TITLE_LENGTH) throw badRequest(`a title is at most ${MAX_TITLE_LENGTH} characters`);
  return t;
}

export class ConversationStore {
  constructor(private readonly db: Db) {}

  async create(actor: Actor, input: { title?: string; agentId?: string | null; localOnly?: boolean } = {}): Promise<ConversationRow> {
    const [row] = await this.db
      .insert(conversations)
      .values({ ownerId: actor.userId, title: input.title ? cleanTitle(input.title) : 'New conversation', agentId: input.agentId ?? null, localOnly: input.localOnly ?? false })
      .returning();
    return row!;
  }

  /** A conversation the actor may read (their own, or one shared with their team). */
  async get(actor: Actor, id: string): Promise<ConversationRow> {
    if (!isUuid(id)) throw notFound('conversation');
    const [row] = await this.db.select().from(conversations).where(visible(actor, id)).limit(1);
    if (!row) throw notFound('conversation');
    return row;
  }

  async list(actor: Actor, options: { limit: number; offset: number; archived?: boolean }): Promise<{ items: ConversationRow[]; total: number }> {
    const where = and(
      visibleTo(actor),
      options.archived === undefined ? undefined : options.archived ? isNotNull(conversations.archivedAt) : isNull(conversations.archivedAt),
    );
    const items = await this.db.select().from(conversations).where(where).orderBy(desc(conversations.updatedAt), desc(conversations.id)).limit(options.limit).offset(options.offset);
    const [count] = await this.db.select({ n: sql<number>`count(*)::int` }).from(conversations).where(where);
    return { items, total: count?.n ?? 0 };
  }

  async update(
    actor: Actor,
    id: string,
    patch: { title?: string; archived?: boolean; agentId?: string | null; pinnedProvider?: string | null; pinnedModel?: string | null; localOnly?: boolean; lastRouting?: unknown },
  ): Promise<ConversationRow> {
    const values: Partial<typeof conversations.$inferInsert> = { updatedAt: new Date() };
    if (patch.title !== undefined) values.title = cleanTitle(patch.title);
    if (patch.archived !== undefined) values.archivedAt = patch.archived ? new Date() : null;
    if (patch.agentId !== undefined) values.agentId = patch.agentId;
    if (patch.pinnedProvider !== undefined) values.pinnedProvider = patch.pinnedProvider;
    if (patch.pinnedModel !== undefined) values.pinnedModel = patch.pinnedModel;
    if (patch.localOnly !== undefined) values.localOnly = patch.localOnly;
    if (patch.lastRouting !== undefined) values.lastRouting = patch.lastRouting;
    const [row] = await this.db.update(conversations).set(values).where(owned(actor, id)).returning();
    if (!row) throw notFound('conversation');
    return row;
  }

  /** Soft delete: the conversation disappears for the user; its room is tombstoned by the channel. */
  async remove(actor: Actor, id: string): Promise<void> {
    const rows = await this.db.update(conversations).set({ deletedAt: new Date(), updatedAt: new Date() }).where(owned(actor, id)).returning({ id: conversations.id });
    if (rows.length === 0) throw notFound('conversation');
  }

  /**
   * Shares one of the actor's conversations with a team the actor is a
   * member of (it leaves the team it was shared with: at most one), or with
   * null stops sharing it. Owner only. Returns the conversation and the team
   * it was shared with before.
   */
  async share(actor: Actor, id: string, teamId: string | null): Promise<{ conversation: ConversationRow; previousTeamId: string | null }> {
    if (!isUuid(id)) throw notFound('conversation');
    return this.db.transaction(async (tx) => {
      const conv = await lockConversation(tx, actor, id);
      if (teamId !== null) {
        const member = isUuid(teamId)
          ? await tx.select({ t: teamMembers.teamId }).from(teamMembers).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.userId, actor.userId))).limit(1)
          : [];
        if (member.length === 0) throw notFound('team');
      }
      if (conv.teamId === teamId) return { conversation: conv, previousTeamId: conv.teamId };
      const [row] = await tx.update(conversations).set({ teamId, updatedAt: new Date() }).where(eq(conversations.id, id)).returning();
      return { conversation: row!, previousTeamId: conv.teamId };
    });
  }

  /**
   * Appends a message. A message with a channel-native id already stored
   * (a homeserver retry, a double submit) is not stored again: the first
   * copy is returned with `created: false`. `check` sees the locked
   * conversation before anything is written (throw to refuse); the
   * conversation is returned with the message. Four round trips: BEGIN,
   * the lock (which also marks the conversation updated), the insert, COMMIT.
   */
  async append(
    actor: Actor,
    conversationId: string,
    message: NewMessage,
    check?: (conv: ConversationRow) => void,
  ): Promise<{ message: AppendedMessage; created: boolean; conversation: ConversationRow }> {
    return this.appendWithin('owned', actor, conversationId, message, check);
  }

  /**
   * A person's message to a conversation they may post in: their own, or
   * one shared with a team they are a member of (404 otherwise, as for
   * reading). Only the message is added; every other change stays the
   * owner's. `prepare` sees the locked conversation before anything is
   * written: it throws to refuse, or returns fields to store the message
   * with (who wrote it, when that is not the owner). Round trips as `append`.
   */
  async appendAsParticipant(
    actor: Actor,
    conversationId: string,
    message: NewMessage,
    prepare?: (conv: ConversationRow) => Partial<NewMessage> | void,
  ): Promise<{ message: AppendedMessage; created: boolean; conversation: ConversationRow }> {
    return this.appendWithin('visible', actor, conversationId, message, prepare);
  }

  private async appendWithin(
    reach: 'owned' | 'visible',
    actor: Actor,
    conversationId: string,
    input: NewMessage,
    prepare?: (conv: ConversationRow) => Partial<NewMessage> | void,
  ): Promise<{ message: AppendedMessage; created: boolean; conversation: ConversationRow }> {
    let conversation: ConversationRow | null = null;
    let message = input;
    try {
      const inserted = await this.db.transaction(async (tx) => {
        const conv = await lockConversation(tx, actor, conversationId, {}, reach);
        conversation = conv;
        const extra = prepare?.(conv);
        if (extra) message = { ...input, ...extra };
        // A reply points into the same conversation: another one's message (anyone's) is not found.
        if (message.replyToId && !(await inConversation(tx, conversationId, message.replyToId))) throw notFound('the message replied to (replyToId)');
        const [row] = await tx
          .insert(messages)
          .values({ ...message, conversationId, ownerId: conv.ownerId })
          .onConflictDoNothing()
          .returning(withPrevSeq(conversationId));
        // Rolled back, so a repeated delivery does not mark the conversation updated.
        if (!row) throw new AlreadyStored();
        return appended(row);
      });
      return { message: inserted, created: true, conversation: conversation! };
    } catch (err) {
      if (!(err instanceof AlreadyStored)) throw err;
    }
    const conv: ConversationRow = conversation!;
    // Someone posting in another's conversation finds their repeat in that conversation only (the owner's other messages are not theirs to see).
    const existing = message.externalId
      ? conv.ownerId === actor.userId
        ? await this.findByExternalId(actor, message.channel, message.externalId)
        : await this.storedIn(conv, message.channel, message.externalId)
      : message.id
        ? await this.getMessage(actor, message.id)
        : null;
    if (!existing) throw badRequest('message could not be stored');
    return { message: existing, created: false, conversation: conv };
  }

  /** A message of this (already reached) conversation by its channel-native id. */
  private async storedIn(conv: ConversationRow, channel: string, externalId: string): Promise<MessageRow | null> {
    const [row] = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.ownerId, conv.ownerId), eq(messages.conversationId, conv.id), eq(messages.channel, channel), eq(messages.externalId, externalId)))
      .limit(1);
    return row ?? null;
  }

  /** Appends several messages in one transaction: a turn is stored whole or not at all. */
  async appendAll(actor: Actor, conversationId: string, batch: NewMessage[]): Promise<AppendedMessage[]> {
    return this.db.transaction(async (tx) => {
      const conv = await lockConversation(tx, actor, conversationId);
      return insertBatch(tx, conv, batch);
    });
  }

  /** The seq of the conversation's newest message; 0 when it has none. */
  async lastSeq(actor: Actor, conversationId: string): Promise<number> {
    await this.get(actor, conversationId);
    const [row] = await this.db.select({ seq: sql<string | null>`max(${messages.seq})` }).from(messages).where(eq(messages.conversationId, conversationId));
    return row?.seq ? Number(row.seq) : 0;
  }

  async getMessage(actor: Actor, messageId: string): Promise<MessageRow | null> {
    const [row] = await this.db
      .select({ m: messages })
      .from(messages)
      .innerJoin(conversations, eq(conversations.id, messages.conversationId))
      .where(and(eq(messages.id, messageId), visibleTo(actor)))
      .limit(1);
    return row?.m ?? null;
  }

  async findByExternalId(actor: Actor, channel: string, externalId: string): Promise<MessageRow | null> {
    const [row] = await this.db
      .select()
      .from(messages)
      .where(and(eq(messages.ownerId, actor.userId), eq(messages.channel, channel), eq(messages.externalId, externalId)))
      .limit(1);
    return row ?? null;
  }

  /**
   * Records that a channel deleted (redacted) one of its messages. The row
   * stays for the audit trail; `redactedAt` keeps it out of the model's
   * context and out of search. `meta` (who, why) is merged into the
   * metadata. True when the message is (now or already) marked.
   */
  async markRedacted(actor: Actor, channel: string, externalId: string, meta: Record<string, unknown>): Promise<boolean> {
    const row = await this.findByExternalId(actor, channel, externalId);
    if (!row) return false;
    if (row.redactedAt) return true;
    await this.db
      .update(messages)
      .set({ redactedAt: new Date(), metadata: sql`${messages.metadata} || ${JSON.stringify(meta)}::jsonb` })
      .where(and(eq(messages.id, row.id), isNull(messages.redactedAt)));
    return true;
  }

  /**
   * Remembers how a stored message was delivered on a channel, under
   * `metadata[channel]` (for Matrix: the room and the event it was sent as),
   * so replies can point at it and undelivered messages can be found. False
   * when the message is not in one of the actor's conversations.
   */
  async recordDelivery(actor: Actor, messageId: string, channel: string, info: Record<string, unknown>): Promise<boolean> {
    const rows = await this.db
      .update(messages)
      .set({ metadata: sql`${messages.metadata} || jsonb_build_object(${channel}::text, ${JSON.stringify(info)}::jsonb)` })
      .where(
        and(
          eq(messages.id, messageId),
          sql`exists (select 1 from ${conversations} where ${conversations.id} = ${messages.conversationId} and ${conversations.ownerId} = ${actor.userId})`,
        ),
      )
      .returning({ id: messages.id });
    return rows.length > 0;
  }

  async listMessages(actor: Actor, conversationId: string, options: { limit: number; beforeSeq?: number; afterSeq?: number }): Promise<MessageRow[]> {
    await this.get(actor, conversationId);
    const rows = await this.db
      .select()
      .from(messages)
      .where(
        and(
          eq(messages.conversationId, conversationId),
          options.beforeSeq !== undefined ? lt(messages.seq, options.beforeSeq) : undefined,
          options.afterSeq !== undefined ? gt(messages.seq, options.afterSeq) : undefined,
        ),
      )
      .orderBy(options.afterSeq !== undefined ? asc(messages.seq) : desc(messages.seq))
      .limit(options.limit);
    return options.afterSeq !== undefined ? rows : rows.reverse();
  }

  /** Every message of the conversation in order (for context building and summaries). */
  async allMessages(actor: Actor, conversationId: string): Promise<MessageRow[]> {
    await this.get(actor, conversationId);
    return this.db.select().from(messages).where(eq(messages.conversationId, conversationId)).orderBy(asc(messages.seq));
  }

  async counts(actor: Actor, conversationId: string): Promise<{ total: number; summarized: number }> {
    const conv = await this.get(actor, conversationId);
    const [row] = await this.db
      .select({
        total: sql<number>`count(*)::int`,
        // A reply counts with the question it answers (see logicalOrder).
        summarized: sql<number>`count(*) filter (where coalesce((select p.seq from messages p where p.id = ${messages.replyToId}), ${messages.seq}) <= ${conv.summarizedThroughSeq ?? -1})::int`,
      })
      .from(messages)
      .where(eq(messages.conversationId, conversationId));
    return { total: row?.total ?? 0, summarized: row?.summarized ?? 0 };
  }

  async setSummary(actor: Actor, conversationId: string, summary: string, throughSeq: number): Promise<void> {
    const rows = await this.db.update(conversations).set({ summary, summarizedThroughSeq: throughSeq }).where(owned(actor, conversationId)).returning({ id: conversations.id });
    if (rows.length === 0) throw notFound('conversation');
  }

  /**
   * What answering needs first, in one statement: the conversation (404
   * when it is not the actor's), its oldest message still waiting for an
   * answer (null: none) and the actor's active session in it (null: none;
   * the answer opens one), which the answer would otherwise read next.
   */
  async pendingTurn(actor: Actor, conversationId: string): Promise<PendingTurn> {
    const [row] = await this.db
      .select({ conv: conversations, next: messages, session: sessions })
      .from(conversations)
      .leftJoin(messages, nextWaiting)
      .leftJoin(sessions, activeSessionOf(actor.userId))
      .where(owned(actor, conversationId))
      .limit(1);
    if (!row) throw notFound('conversation');
    return { conv: row.conv, next: row.next, session: row.session };
  }

  /**
   * A reply job's first read, for a job that carries only the user's id:
   * the user's row (null: gone) with `pendingTurn` for that user (null when
   * the conversation is not theirs), in one statement.
   */
  async pendingTurnFor(userId: string, conversationId: string): Promise<{ user: UserRow | null; turn: PendingTurn | null }> {
    if (!isUuid(userId) || !isUuid(conversationId)) return { user: null, turn: null };
    const [row] = await this.db
      .select({ user: users, conv: conversations, next: messages, session: sessions })
      .from(users)
      .leftJoin(conversations, and(eq(conversations.id, conversationId), eq(conversations.ownerId, users.id), isNull(conversations.deletedAt)))
      .leftJoin(messages, nextWaiting)
      .leftJoin(sessions, activeSessionOf(userId))
      .where(eq(users.id, userId))
      .limit(1);
    if (!row) return { user: null, turn: null };
    return { user: row.user, turn: row.conv ? { conv: row.conv, next: row.next, session: row.session } : null };
  }

  /** Every message of a conversation the caller has already read as the actor's (no second read of it). */
  async history(actor: Actor, conv: ConversationRow): Promise<MessageRow[]> {
    if (conv.ownerId !== actor.userId) throw notFound('conversation');
    return this.db.select().from(messages).where(eq(messages.conversationId, conv.id)).orderBy(asc(messages.seq));
  }

  /**
   * The oldest user message still waiting for an answer. Commands and
   * messages marked `noReply` are answered by other means.
   */
  async nextUnanswered(actor: Actor, conversationId: string): Promise<MessageRow | null> {
    await this.get(actor, conversationId);
    const [row] = await this.db
      .select()
      .from(messages)
      .where(
        and(
          eq(messages.conversationId, conversationId),
          eq(messages.role, 'user'),
          sql`coalesce((${messages.metadata}->>'noReply')::boolean, false) = false`,
          sql`not exists (select 1 from messages r where r.reply_to_id = ${messages.id} and (r.role = 'system' or (r.role = 'assistant' and coalesce((r.metadata->>'final')::boolean, false))))`,
        ),
      )
      .orderBy(asc(messages.seq))
      .limit(1);
    return row ?? null;
  }

  /**
   * Housekeeping (the scheduled summarization): ids and owners of
   * conversations active since a date. Returns no content; every read after
   * it goes through the owner as the acting user.
   */
  async activeSince(since: Date, limit = 500): Promise<Array<{ id: string; ownerId: string }>> {
    return this.db
      .select({ id: conversations.id, ownerId: conversations.ownerId })
      .from(conversations)
      .where(and(gt(conversations.updatedAt, since), isNull(conversations.deletedAt), isNull(conversations.archivedAt)))
      .orderBy(desc(conversations.updatedAt))
      .limit(limit);
  }

  /**
   * Housekeeping at start: messages still waiting for an answer (their job
   * may have been lost with a Valkey that was flushed or evicted). Ids only.
   */
  async unansweredSince(since: Date, limit = 1000, until: Date = new Date(8.64e15)): Promise<Array<{ conversationId: string; ownerId: string; messageId: string }>> {
    return sqlRows<{ conversationId: string; ownerId: string; messageId: string }>(
      this.db,
      sql`select m.conversation_id as "conversationId", c.owner_id as "ownerId", m.id as "messageId"
          from messages m join conversations c on c.id = m.conversation_id join users u on u.id = c.owner_id and u.disabled_at is null
          where m.role = 'user' and m.created_at > ${since} and m.created_at <= ${until} and c.deleted_at is null and c.archived_at is null
            and coalesce((m.metadata->>'noReply')::boolean, false) = false
            and not exists (select 1 from messages r where r.reply_to_id = m.id and (r.role = 'system' or (r.role = 'assistant' and coalesce((r.metadata->>'final')::boolean, false))))
          order by m.seq limit ${limit}`,
    );
  }

  /** Full-text search over the messages of the conversations the actor may read, ranked, with highlighted snippets. */
  async search(actor: Actor, query: string, limit = 20): Promise<SearchHit[]> {
    const q = query.trim();
    if (!q) throw badRequest('search needs some words (q=…)');
    // The excerpt is made in JS from the start of each hit (src/conversations/search-snippet.ts), not by ts_headline.
    const rows = await sqlRows<{ message_id: string; conversation_id: string; title: string; role: string; source: string; rank: number; created_at: string | Date }>(
      this.db,
      sql`select m.id as message_id, m.conversation_id, c.title, m.role, left(m.content, ${SNIPPET_SOURCE_CHARS}) as source,
                 ts_rank(m.search_vector, websearch_to_tsquery('simple', ${q})) as rank, m.created_at
          from messages m join conversations c on c.id = m.conversation_id
          where (c.owner_id = ${actor.userId} or exists (select 1 from team_members tm where tm.team_id = c.team_id and tm.user_id = ${actor.userId}))
            and c.deleted_at is null and m.redacted_at is null
            and m.search_vector @@ websearch_to_tsquery('simple', ${q})
          order by rank desc, m.seq desc limit ${limit}`,
    );
    return rows.map((r) => ({ messageId: r.message_id, conversationId: r.conversation_id, conversationTitle: r.title, role: r.role, snippet: snippetOf(r.source, q), rank: Number(r.rank), createdAt: new Date(r.created_at) }));
  }
}
