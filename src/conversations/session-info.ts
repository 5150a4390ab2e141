/** What a conversation is talking to right now: agent, model, pin, last routing and session metrics. */
import type { Actor } from '../identity/actor.ts';
import type { ConversationAgents } from './conversation-agents.ts';
import type { ConversationEvents } from './conversation-events.ts';
import type { AgentConfig } from '../agents/agent-store.ts';
import type { ConversationRow, ConversationStore } from './conversation-store.ts';
import type { SessionMetrics, SessionRow, SessionStore } from './session-store.ts';

export interface SessionInfo {
  conversationId: string;
  sessionId: string | null;
  agent: { id: string | null; name: string; displayName: string };
  provider: string | null;
  model: string | null;
  pinned: boolean;
  lastRouting: unknown;
  metrics: unknown;
}

export class SessionInfoService {
  constructor(
    private readonly d: {
      conversations: ConversationStore;
      sessions: SessionStore;
      agents: ConversationAgents;
      events: ConversationEvents;
    },
  ) {}

  async get(actor: Actor, conversationId: string): Promise<SessionInfo> {
    const conv = await this.d.conversations.get(actor, conversationId);
    const agent = await this.d.agents.of(actor, conv);
    const session = await this.d.sessions.current(actor, conversationId, { agentId: agent?.id ?? null, provider: conv.pinnedProvider, model: conv.pinnedModel });
    const { metrics } = await this.d.sessions.get(actor, session.id);
    return sessionInfoOf(conv, agent, session, metrics);
  }

  /** The session info, also sent to every surface of the conversation. */
  async publish(actor: Actor, conversationId: string): Promise<SessionInfo> {
    return this.publishInfo(await this.get(actor, conversationId));
  }

  /** Sends info the caller already has (the answering path has read and written all of it). */
  async publishInfo(info: SessionInfo): Promise<SessionInfo> {
    await this.d.events.publish({ type: 'session:info', conversationId: info.conversationId, info });
    return info;
  }
}

/** What a conversation talks to now, from its row, its agent, its session and the session's metrics. */
export function sessionInfoOf(conv: ConversationRow, agent: AgentConfig | null, session: SessionRow, metrics: SessionMetrics): SessionInfo {
  const last = conv.lastRouting as { provider?: string; model?: string } | null;
  return {
    conversationId: conv.id,
    sessionId: session.id,
    agent: { id: agent?.id ?? null, name: agent?.name ?? 'default', displayName: agent?.displayName ?? 'Mosaic' },
    provider: conv.pinnedProvider ?? session.provider ?? last?.provider ?? null,
    model: conv.pinnedModel ?? session.model ?? last?.model ?? null,
    pinned: conv.pinnedModel !== null,
    lastRouting: conv.lastRouting,
    metrics,
  };
}
