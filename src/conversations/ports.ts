/** What the conversation services need from the rest of Mosaic, as narrow interfaces. */
import type { UserRow } from '../identity/user-store.ts';
import type { Actor } from '../identity/actor.ts';
import type { Credential, ProviderAdapter, ProviderName } from '../providers/types.ts';
import type { AgentProfile, BudgetStatus, ModelRef, RoutingInput, RoutingResult } from '../routing/types.ts';

/** Routes a message for a user: the routing engine with that user's rules. */
export interface RoutingPort {
  /**
   * Routes for `actor` (their rules, data policy, budget and keys). `owner`:
   * the conversation's owner when `actor` is someone else (a team member
   * asking in a shared conversation) — the owner's own local-only setting
   * still keeps their conversation on local models.
   */
  route(actor: Actor | null, input: Omit<RoutingInput, 'userId'>, owner?: Actor): Promise<RoutingResult>;
  /** The actor's monthly budget, this month's spend and its state, as routing sees them; null: no budget. */
  budget(actor: Actor): Promise<BudgetStatus | null>;
}

/** The user's own settings a chat command may change. */
export interface UserSettingsPort {
  /** null clears the user's own budget, so the configured default (if any) applies. */
  setMonthlyBudget(actor: Actor, monthlyBudgetUsd: number | null): Promise<void>;
}

/** The provider layer as the answering path needs it. */
export interface ProviderPort {
  adapter(name: ProviderName): ProviderAdapter | undefined;
  /** The acting user's own credential, or undefined to use the system key. */
  credential(actor: Actor, provider: ProviderName): Promise<Credential | undefined>;
}

export interface ReplyJobRef {
  conversationId: string;
  userId: string;
  messageId: string;
}

/** What recovery found of a stored message's reply job. */
export type ReplyJobCheck =
  /** Queued or being answered by a live worker: nothing to do. */
  | { outcome: 'pending' | 'running' }
  /** Queued again (its job was lost, stuck with a dead worker, or ended without an answer), or not, because the bound was reached. */
  | { outcome: 'requeued' | 'refused'; previous: 'missing' | 'stalled' | 'completed' | 'failed'; failedReason?: string };

/** Queues the answer to a stored message (BullMQ in production). */
export interface ReplyScheduler {
  schedule(job: ReplyJobRef): Promise<void>;
  /**
   * Recovery: makes sure the message's reply job will run. `mayRequeue` is
   * asked before it is queued again, so the caller bounds how often.
   */
  ensure(job: ReplyJobRef, mayRequeue: () => Promise<boolean>): Promise<ReplyJobCheck>;
}

/**
 * Counts the tries at answering a message, across crashes (Valkey in
 * production): `begin` is called as a model is first called for it, and
 * answers how many tries, this one included, were begun.
 */
export interface AnswerTries {
  begin(messageId: string): Promise<number>;
}

/**
 * Loads the actor for a user id (queued work carries only the id); null when
 * the user is gone or disabled. `known`: the user's row (null: none) as the
 * caller already read it, so it is not read again.
 */
export type ActorLookup = (userId: string, known?: UserRow | null) => Promise<Actor | null>;

export interface ConversationRoutingState {
  pin: ModelRef | null;
  localOnly: boolean;
  agent: AgentProfile | null;
  /** Shared with this team (its budget applies too); null when not shared. */
  teamId: string | null;
}

export interface ConversationSettings {
  summarizeAt: number;
  keepRecentMessages: number;
  maxToolSteps: number;
  /** How long a queued answer waits for the conversation's lease before giving up for now. */
  leaseWaitMs?: number;
  /** Streamed text is published at most this often. */
  deltaIntervalMs?: number;
}

/** Erases a deleted conversation everywhere (its channel side, then its rows), in the background. */
export interface ErasureScheduler {
  schedule(conversationId: string): Promise<void>;
}
