/**
 * Sessions bind a conversation to its agent; their metrics add up every
 * model call. `usage_records` is the per-call ledger behind user and agent
 * totals. Every function takes the acting user.
 */
import { and, desc, eq, gte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { conversations, sessionMetrics, sessions, usageRecords } from '../db/schema.ts';
import { notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';

export type SessionRow = typeof sessions.$inferSelect;
export type MetricsRow = typeof sessionMetrics.$inferSelect;

export interface SessionMetrics {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  totalTokens: number;
  costUsd: number;
  modelSwitches: number;
  messageCount: number;
  durationMs: number;
  lastActivityAt: Date;
}

export interface UsageCall {
  provider: string;
  model: string;
  purpose: 'reply' | 'summary' | 'classify' | 'delegation';
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  totalTokens: number;
  costUsd: number;
  calls: number;
}

export function toMetrics(row: MetricsRow): SessionMetrics {
  return {
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    cacheReadTokens: row.cacheReadTokens,
    cacheWriteTokens: row.cacheWriteTokens,
    totalTokens: row.totalTokens,
    costUsd: Number(row.costUsd),
    modelSwitches: row.modelSwitches,
    messageCount: row.messageCount,
    durationMs: row.durationMs,
    lastActivityAt: row.lastActivityAt,
  };
}

const totalsSelect = {
  inputTokens: sql<number>`coalesce(sum(${usageRecords.inputTokens}), 0)::bigint`,
  outputTokens: sql<number>`coalesce(sum(${usageRecords.outputTokens}), 0)::bigint`,
  cacheReadTokens: sql<number>`coalesce(sum(${usageRecords.cacheReadTokens}), 0)::bigint`,
  cacheWriteTokens: sql<number>`coalesce(sum(${usageRecords.cacheWriteTokens}), 0)::bigint`,
  costUsd: sql<number>`coalesce(sum(${usageRecords.costUsd}), 0)`,
  calls: sql<number>`count(*)::int`,
};

function toTotals(row: Record<keyof typeof totalsSelect, number | string> | undefined): UsageTotals {
  const n = (v: number | string | undefined) => Number(v ?? 0);
  const t = { inputTokens: n(row?.inputTokens), outputTokens: n(row?.outputTokens), cacheReadTokens: n(row?.cacheReadTokens), cacheWriteTokens: n(row?.cacheWriteTokens) };
  return { ...t, totalTokens: t.inputTokens + t.outputTokens + t.cacheReadTokens + t.cacheWriteTokens, costUsd: n(row?.costUsd), calls: n(row?.calls) };
}

export class SessionStore {
  constructor(private readonly db: Db) {}

  /**
   * The conversation's active session, or a new one bound to this agent and
   * model. `known`: the active session (or null) as the caller already read
   * it for this actor and conversation (ConversationStore.pendingTurn), so
   * it is not read again.
   */
  async current(actor: Actor, conversationId: string, binding: { agentId: string | null; provider: string | null; model: string | null }, known?: SessionRow | null): Promise<SessionRow> {
    const usable = known === null || (known !== undefined && known.userId === actor.userId && known.conversationId === conversationId);
    const active =
      usable
        ? known
        : (
            await this.db
              .select()
              .from(sessions)
              .where(and(eq(sessions.conversationId, conversationId), eq(sessions.userId, actor.userId), eq(sessions.status, 'active')))
              .orderBy(desc(sessions.startedAt))
              .limit(1)
          )[0];
    if (active && active.agentId === binding.agentId) return active;
    if (active) await this.end(actor, active.id);
    return this.db.transaction(async (tx) => {
      const [row] = await tx.insert(sessions).values({ conversationId, userId: actor.userId, agentId: binding.agentId, provider: binding.provider, model: binding.model }).returning();
      await tx.insert(sessionMetrics).values({ sessionId: row!.id });
      return row!;
    });
  }

  async get(actor: Actor, sessionId: string): Promise<{ session: SessionRow; metrics: SessionMetrics }> {
    const [row] = await this.db
      .select({ s: sessions, m: sessionMetrics })
      .from(sessions)
      .innerJoin(sessionMetrics, eq(sessionMetrics.sessionId, sessions.id))
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, actor.userId)))
      .limit(1);
    if (!row) throw notFound('session');
    return { session: row.s, metrics: toMetrics(row.m) };
  }

  async end(actor: Actor, sessionId: string): Promise<void> {
    await this.db.update(sessions).set({ status: 'ended', endedAt: new Date() }).where(and(eq(sessions.id, sessionId), eq(sessions.userId, actor.userId)));
  }

  /** Records a switch of model within the session. */
  async recordModel(actor: Actor, sessionOrId: SessionRow | string, provider: string, model: string): Promise<boolean> {
    // A caller holding the session row (the answering path) saves a read; the usual case (same model) then writes nothing.
    const session = typeof sessionOrId === 'string' ? (await this.get(actor, sessionOrId)).session : sessionOrId;
    const sessionId = session.id;
    if (session.provider === provider && session.model === model) return false;
    const switched = session.model !== null;
    await this.db.update(sessions).set({ provider, model, lastActivityAt: new Date() }).where(eq(sessions.id, sessionId));
    if (switched) await this.db.update(sessionMetrics).set({ modelSwitches: sql`${sessionMetrics.modelSwitches} + 1` }).where(eq(sessionMetrics.sessionId, sessionId));
    return switched;
  }

  /** Adds one model call to the session's metrics and the usage ledger. `context.payerId`: whose usage the call counts to, when not the session owner's (a team member who asked). */
  async recordCall(actor: Actor, sessionId: string, call: UsageCall, context: { conversationId: string; agentId: string | null; payerId?: string }): Promise<void> {
    const { session } = await this.get(actor, sessionId);
    const now = new Date();
    const total = call.inputTokens + call.outputTokens + call.cacheReadTokens + call.cacheWriteTokens;
    await this.db.transaction(async (tx) => {
      // Charged to the team the conversation is shared with at this moment too (its budget); it still counts to the user.
      const teamId = sql<string | null>`(select ${conversations.teamId} from ${conversations} where ${conversations.id} = ${context.conversationId})`;
      await tx.insert(usageRecords).values({ userId: context.payerId ?? actor.userId, sessionId, conversationId: context.conversationId, agentId: context.agentId, teamId, ...call });
      await tx
        .update(sessionMetrics)
        .set({
          inputTokens: sql`${sessionMetrics.inputTokens} + ${call.inputTokens}`,
          outputTokens: sql`${sessionMetrics.outputTokens} + ${call.outputTokens}`,
          cacheReadTokens: sql`${sessionMetrics.cacheReadTokens} + ${call.cacheReadTokens}`,
          cacheWriteTokens: sql`${sessionMetrics.cacheWriteTokens} + ${call.cacheWriteTokens}`,
          totalTokens: sql`${sessionMetrics.totalTokens} + ${total}`,
          costUsd: sql`${sessionMetrics.costUsd} + ${call.costUsd}`,
          durationMs: now.getTime() - session.startedAt.getTime(),
          lastActivityAt: now,
        })
        .where(eq(sessionMetrics.sessionId, sessionId));
      await tx.update(sessions).set({ lastActivityAt: now }).where(eq(sessions.id, sessionId));
    });
  }

  /** Counts stored messages (user and final assistant) against the session. */
  async recordMessages(actor: Actor, sessionId: string, count: number): Promise<void> {
    const { session } = await this.get(actor, sessionId);
    const now = new Date();
    await this.db
      .update(sessionMetrics)
      .set({ messageCount: sql`${sessionMetrics.messageCount} + ${count}`, lastActivityAt: now, durationMs: now.getTime() - session.startedAt.getTime() })
      .where(eq(sessionMetrics.sessionId, sessionId));
  }

  async conversationUsage(actor: Actor, conversationId: string): Promise<UsageTotals> {
    const [row] = await this.db.select(totalsSelect).from(usageRecords).where(and(eq(usageRecords.userId, actor.userId), eq(usageRecords.conversationId, conversationId)));
    return toTotals(row);
  }

  async userUsage(actor: Actor, since?: Date): Promise<UsageTotals> {
    const [row] = await this.db
      .select(totalsSelect)
      .from(usageRecords)
      .where(and(eq(usageRecords.userId, actor.userId), since ? gte(usageRecords.createdAt, since) : undefined));
    return toTotals(row);
  }

  /** The acting user's usage per agent (or per model), since a date. */
  async usageBy(actor: Actor, by: 'agent' | 'model', since?: Date): Promise<Array<{ key: string | null } & UsageTotals>> {
    const key = by === 'agent' ? sql<string | null>`${usageRecords.agentId}::text` : sql<string>`${usageRecords.provider} || '/' || ${usageRecords.model}`;
    const rows = await this.db
      .select({ key, ...totalsSelect })
      .from(usageRecords)
      .where(and(eq(usageRecords.userId, actor.userId), since ? gte(usageRecords.createdAt, since) : undefined))
      .groupBy(key);
    return rows.map((r) => ({ key: r.key, ...toTotals(r) }));
  }

  /** Admin view: every user's totals, or every agent's, since a date. */
  async allUsageBy(by: 'user' | 'agent', since?: Date): Promise<Array<{ key: string | null } & UsageTotals>> {
    const key = by === 'user' ? sql<string>`${usageRecords.userId}::text` : sql<string | null>`${usageRecords.agentId}::text`;
    const rows = await this.db
      .select({ key, ...totalsSelect })
      .from(usageRecords)
      .where(since ? gte(usageRecords.createdAt, since) : undefined)
      .groupBy(key);
    return rows.map((r) => ({ key: r.key, ...toTotals(r) }));
  }
}
