/** Which agent a conversation talks to, and agents named by the user. */
import type { AgentConfig, AgentStore } from '../agents/agent-store.ts';
import type { Actor } from '../identity/actor.ts';
import { MosaicError } from '../errors.ts';
import { isUuid } from '../db/uuid.ts';
import type { ConversationRow } from './conversation-store.ts';

export class ConversationAgents {
  constructor(readonly store: AgentStore) {}

  /** An agent by id or name, visible to the actor. */
  async resolve(actor: Actor, ref: string): Promise<AgentConfig> {
    if (isUuid(ref)) return this.store.get(actor, ref);
    const found = await this.store.findByName(actor, ref);
    if (!found) {
      const names = (await this.store.list(actor)).map((a) => a.name);
      throw new MosaicError('agent_unknown', `no agent named "${ref}"; available: ${names.join(', ') || 'none'}`, { httpStatus: 404 });
    }
    return found;
  }

  /** The conversation's agent; null when it has none or the agent is no longer visible. */
  async of(actor: Actor, conv: ConversationRow): Promise<AgentConfig | null> {
    if (!conv.agentId) return null;
    try {
      return await this.store.get(actor, conv.agentId);
    } catch {
      return null;
    }
  }
}
