/**
 * The conversation itself, as users change it from any surface: create,
 * rename, archive, delete, and what it contributes to routing. Metadata is
 * last-write-wins through here, and every change is published so each
 * surface follows.
 */
import type { AgentConfig } from '../agents/agent-store.ts';
import type { Actor } from '../identity/actor.ts';
import type { ProviderName } from '../providers/types.ts';
import { toAgentProfile } from '../routing/agent-profile.ts';
import type { BudgetStatus, ModelDirectory } from '../routing/types.ts';
import { notFound } from '../errors.ts';
import type { ConversationAgents } from './conversation-agents.ts';
import type { ConversationEvents } from './conversation-events.ts';
import { toConversation, type Conversation, type ConversationRow, type ConversationStore } from './conversation-store.ts';
import type { ConversationRoutingState, ErasureScheduler, RoutingPort, UserSettingsPort } from './ports.ts';
import type { SessionInfoService } from './session-info.ts';

/** What a conversation contributes to routing: its /model pin, data policy and agent. */
export function routingStateOf(conv: ConversationRow, agent: AgentConfig | null, directory: ModelDirectory): ConversationRoutingState {
  return {
    pin: conv.pinnedProvider && conv.pinnedModel ? { provider: conv.pinnedProvider as ProviderName, model: conv.pinnedModel } : null,
    // The user's own local-only flag is applied by routing itself.
    localOnly: conv.localOnly,
    agent: agent ? toAgentProfile(agent, directory) : null,
  };
}

export class ConversationApi {
  constructor(
    private readonly d: {
      conversations: ConversationStore;
      agents: ConversationAgents;
      sessionInfo: SessionInfoService;
      events: ConversationEvents;
      routing: RoutingPort;
      userSettings: UserSettingsPort;
      directory: ModelDirectory;
      erasure?: ErasureScheduler;
    },
  ) {}

  async create(actor: Actor, input: { title?: string; agent?: string | null; localOnly?: boolean } = {}): Promise<Conversation> {
    const agent = input.agent ? await this.d.agents.resolve(actor, input.agent) : await this.d.agents.store.findByName(actor, 'assistant');
    const row = await this.d.conversations.create(actor, { ...(input.title ? { title: input.title } : {}), agentId: agent?.id ?? null, localOnly: input.localOnly ?? false });
    return toConversation(row, actor);
  }

  async update(actor: Actor, id: string, patch: { title?: string; archived?: boolean; localOnly?: boolean }): Promise<Conversation> {
    const row = await this.d.conversations.update(actor, id, patch);
    if (patch.localOnly !== undefined) await this.d.sessionInfo.publish(actor, id);
    if (patch.title !== undefined) await this.d.events.publish({ type: 'conversation:updated', conversationId: id, change: 'title', title: row.title });
    // Surfaces act on the direction (a channel closes or reopens its side), so it is part of the change.
    if (patch.archived !== undefined) await this.d.events.publish({ type: 'conversation:updated', conversationId: id, change: patch.archived ? 'archived' : 'unarchived' });
    return toConversation(row, actor);
  }

  /**
   * Shares one of the actor's conversations with a team (or, with null,
   * stops sharing it); owner only. Every surface hears of it, and a live
   * feed of someone who can no longer see it ends.
   */
  async share(actor: Actor, id: string, teamId: string | null): Promise<{ conversation: Conversation; previousTeamId: string | null }> {
    const { conversation, previousTeamId } = await this.d.conversations.share(actor, id, teamId);
    if (previousTeamId !== teamId) await this.d.events.publish({ type: 'conversation:updated', conversationId: id, change: teamId ? 'shared' : 'unshared' });
    return { conversation: toConversation(conversation, actor), previousTeamId };
  }

  /**
   * Deletes a conversation: hidden at once everywhere, then erased in the
   * background — its events on every channel (Matrix: redacted, then the
   * room is closed), then its rows. Until that finishes, it stays hidden.
   */
  async remove(actor: Actor, id: string): Promise<void> {
    await this.d.conversations.remove(actor, id);
    await this.d.events.publish({ type: 'conversation:updated', conversationId: id, change: 'deleted' });
    // Not queued (Valkey away): the scheduled retention purge finishes every deleted conversation.
    await this.d.erasure?.schedule(id).catch(() => undefined);
  }

  /** Throws 404 unless the conversation is the actor's. */
  async require(actor: Actor, conversationId: string): Promise<ConversationRow> {
    try {
      return await this.d.conversations.get(actor, conversationId);
    } catch {
      throw notFound('conversation');
    }
  }

  /** An agent by id or name, visible to the actor. */
  resolveAgent(actor: Actor, ref: string): Promise<AgentConfig> {
    return this.d.agents.resolve(actor, ref);
  }

  agentOf(actor: Actor, conv: ConversationRow): Promise<AgentConfig | null> {
    return this.d.agents.of(actor, conv);
  }

  /** The routing state of one of the actor's conversations, or null when it is not theirs (for /api/routing/explain). */
  async routingState(actor: Actor, conversationId: string): Promise<ConversationRoutingState | null> {
    const conv = await this.d.conversations.get(actor, conversationId).catch(() => null);
    if (!conv) return null;
    return routingStateOf(conv, await this.d.agents.of(actor, conv), this.d.directory);
  }

  /** The actor's monthly budget and this month's spend (for /usage and GET /api/usage); null when none applies. */
  budget(actor: Actor): Promise<BudgetStatus | null> {
    return this.d.routing.budget(actor);
  }

  /** Sets (or, with null, clears) the actor's own monthly budget; the budget as routing now sees it. */
  async setBudget(actor: Actor, monthlyBudgetUsd: number | null): Promise<BudgetStatus | null> {
    await this.d.userSettings.setMonthlyBudget(actor, monthlyBudgetUsd);
    return this.d.routing.budget(actor);
  }
}
