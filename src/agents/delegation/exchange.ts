/**
 * An exchange: the agent-to-agent work done while answering one message of
 * a person. Every delegation of that answer, at any depth, shares it, so
 * the limits (depth, cycles, turns) are counted over the whole exchange.
 */
export interface Exchange {
  /** The id of the answer being written (the reply id of the person's message). */
  id: string;
  conversationId: string;
  /** The person's message the exchange answers. */
  messageId: string;
  threadId: string | null;
  /** The conversation (or the person) is local-only: delegated work stays on local models too. */
  localOnly: boolean;
  channel: string;
  /** Agent ids from the one the person talks to down to the one acting now. */
  chain: string[];
  /** Delegations made so far in this exchange; shared by every depth. */
  turns: { used: number };
}

export function rootExchange(input: Omit<Exchange, 'turns' | 'chain'> & { agentId: string }): Exchange {
  const { agentId, ...rest } = input;
  return { ...rest, chain: [agentId], turns: { used: 0 } };
}

/** The exchange as the delegated agent sees it: one more link in the chain, the same turn count. */
export function deeper(exchange: Exchange, agentId: string): Exchange {
  return { ...exchange, chain: [...exchange.chain, agentId] };
}
