/** The record of each delegation: who handed what to whom, how it ended, what it cost (agent_delegations). */
import { and, asc, eq } from 'drizzle-orm';
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
  kind: 'delegate' | 'ask';
  depth: number;
  task: string;
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
