/** The record of each delegation: who handed what to whom, how it ended, what it cost (agent_delegations). */
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { agentDelegations } from '../../db/schema.ts';
import type { Actor } from '../../identity/actor.ts';

export type DelegationRow = typeof agentDelegations.$inferSelect;
export type DelegationStatus = DelegationRow['status'];

export interface NewDelegation {
  id: string;
  conversationId: string;
  exchangeId: string;
  fromAgentId: string;
  toAgentId: string;
  kind: 'delegate' | 'ask' | 'broadcast';
  depth: number;
  task: string;
  context?: string | null;
  sessionId?: string | null;
  messageId?: string | null;
  threadId?: string | null;
  localOnly?: boolean;
  status: DelegationStatus;
  notice?: string | null;
}

export interface DelegationOutcome {
  status: DelegationStatus;
  result?: string | null;
  notice?: string | null;
  provider?: string | null;
  model?: string | null;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  routing?: Record<string, unknown> | null;
}

export class DelegationStore {
  constructor(private readonly db: Db) {}

  /** Stores the delegation once: a repeated id (a job run again) keeps the first record. */
  async begin(actor: Actor, row: NewDelegation): Promise<void> {
    await this.db
      .insert(agentDelegations)
      .values({ ...row, userId: actor.userId, ...(row.status === 'running' || row.status === 'queued' ? {} : { completedAt: new Date() }) })
      .onConflictDoNothing();
  }

  async finish(actor: Actor, id: string, outcome: DelegationOutcome): Promise<void> {
    const ended = outcome.status !== 'running' && outcome.status !== 'queued';
    await this.db
      .update(agentDelegations)
      .set({ ...outcome, ...(ended ? { completedAt: new Date() } : {}) })
      .where(and(eq(agentDelegations.id, id), eq(agentDelegations.userId, actor.userId)));
  }

  /**
   * Takes a queued delegation for delivery. BullMQ runs one job at a time;
   * a job run again after its process died finds the delegation still
   * running and takes it again, while one that already ended is left alone.
   */
  async claimQueued(userId: string, id: string): Promise<DelegationRow | null> {
    const [row] = await this.db
      .update(agentDelegations)
      .set({ status: 'running' })
      .where(and(eq(agentDelegations.id, id), eq(agentDelegations.userId, userId), inArray(agentDelegations.status, ['queued', 'running'])))
      .returning();
    return row ?? null;
  }

  async get(actor: Actor, id: string): Promise<DelegationRow | null> {
    const [row] = await this.db.select().from(agentDelegations).where(and(eq(agentDelegations.id, id), eq(agentDelegations.userId, actor.userId))).limit(1);
    return row ?? null;
  }

  /** A conversation's delegations, oldest first. */
  async ofConversation(actor: Actor, conversationId: string): Promise<DelegationRow[]> {
    return this.db
      .select()
      .from(agentDelegations)
      .where(and(eq(agentDelegations.conversationId, conversationId), eq(agentDelegations.userId, actor.userId)))
      .orderBy(asc(agentDelegations.createdAt));
  }
}
