/**
 * The answer's one write: the reply (and its tool steps), the usage of each
 * model call, the session's metrics and the conversation's last routing,
 * in one transaction of set-based statements — BEGIN, the conversation's
 * lock (which also sets `last_routing` and `updated_at`), one multi-row
 * insert of the messages, one statement for the usage ledger, the session
 * metrics and the session's activity, COMMIT.
 */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sessionMetrics, sessions, usageRecords } from '../db/schema.ts';
import type { Actor } from '../identity/actor.ts';
import { insertBatch, lockConversation, type AppendedMessage, type ConversationRow, type NewMessage } from './conversation-store.ts';
import { toMetrics, type SessionMetrics, type SessionRow, type UsageCall } from './session-store.ts';

export interface AnswerWrite {
  conversationId: string;
  messages: NewMessage[];
  lastRouting: unknown;
  session: SessionRow;
  agentId: string | null;
  calls: UsageCall[];
  /** Messages counted against the session (the question and the final answer). */
  messageCount: number;
  /** Whose usage the calls count to when not the conversation's owner (a team member who asked in a shared conversation). */
  payerId?: string;
}

export interface StoredAnswer {
  conv: ConversationRow;
  stored: AppendedMessage[];
  metrics: SessionMetrics;
}

export class TurnStore {
  constructor(private readonly db: Db) {}

  async storeAnswer(actor: Actor, write: AnswerWrite): Promise<StoredAnswer> {
    const { session, calls } = write;
    const now = new Date();
    const sum = (k: 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens' | 'costUsd') => calls.reduce((n, c) => n + c[k], 0);
    const tokens = sum('inputTokens') + sum('outputTokens') + sum('cacheReadTokens') + sum('cacheWriteTokens');
    return this.db.transaction(async (tx) => {
      const conv = await lockConversation(tx, actor, write.conversationId, { lastRouting: write.lastRouting });
      const stored = await insertBatch(tx, conv, write.messages);
      const ledger = calls.length
        ? tx.$with('ledger', {}).as(
            tx
              .insert(usageRecords)
              .values(calls.map((c) => ({ userId: write.payerId ?? actor.userId, sessionId: session.id, conversationId: conv.id, agentId: write.agentId, teamId: conv.teamId, ...c })))
              .getSQL(),
          )
        : null;
      const touched = tx.$with('touched', {}).as(tx.update(sessions).set({ lastActivityAt: now }).where(eq(sessions.id, session.id)).getSQL());
      const [metrics] = await (ledger ? tx.with(ledger, touched) : tx.with(touched))
        .update(sessionMetrics)
        .set({
          inputTokens: sql`${sessionMetrics.inputTokens} + ${sum('inputTokens')}`,
          outputTokens: sql`${sessionMetrics.outputTokens} + ${sum('outputTokens')}`,
          cacheReadTokens: sql`${sessionMetrics.cacheReadTokens} + ${sum('cacheReadTokens')}`,
          cacheWriteTokens: sql`${sessionMetrics.cacheWriteTokens} + ${sum('cacheWriteTokens')}`,
          totalTokens: sql`${sessionMetrics.totalTokens} + ${tokens}`,
          costUsd: sql`${sessionMetrics.costUsd} + ${sum('costUsd')}`,
          messageCount: sql`${sessionMetrics.messageCount} + ${write.messageCount}`,
          durationMs: now.getTime() - session.startedAt.getTime(),
          lastActivityAt: now,
        })
        .where(eq(sessionMetrics.sessionId, session.id))
        .returning();
      return { conv, stored, metrics: metrics ? toMetrics(metrics) : emptyMetrics(now) };
    });
  }
}

function emptyMetrics(now: Date): SessionMetrics {
  return { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, totalTokens: 0, costUsd: 0, modelSwitches: 0, messageCount: 0, durationMs: 0, lastActivityAt: now };
}
