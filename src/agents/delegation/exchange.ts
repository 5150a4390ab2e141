/**
 * An exchange: the agent-to-agent work done while answering one message of
 * a person. Every delegation of that answer, at any depth, shares it, so
 * the limits (depth, cycles, turns) are counted over the whole exchange.
 */
import type { Actor } from '../../identity/actor.ts';
import { InterruptBox } from './interrupts.ts';

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
  /** A person's interrupts; shared by every depth. */
  interrupts: InterruptBox;
  /**
   * Who asked, when not the conversation's owner (a team member in a shared
   * conversation): delegated work is routed, keyed and billed as them too.
   */
  asker?: Actor;
}

export function rootExchange(input: Omit<Exchange, 'turns' | 'chain' | 'interrupts'> & { agentId: string; interrupts?: InterruptBox }): Exchange {
  const { agentId, interrupts, ...rest } = input;
  return { ...rest, chain: [agentId], turns: { used: 0 }, interrupts: interrupts ?? new InterruptBox() };
}

/** The exchange as the delegated agent sees it: one more link in the chain, the same turn count. */
export function deeper(exchange: Exchange, agentId: string): Exchange {
  return { ...exchange, chain: [...exchange.chain, agentId] };
}
