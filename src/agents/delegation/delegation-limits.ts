/**
 * The limits on agents handing work to each other, as pure checks: agents
 * that talk to each other loop unless something stops them. Each refusal
 * carries the sentence the person sees in their conversation, naming the
 * limit and the setting that raises it.
 */
import type { Exchange } from './exchange.ts';

export interface DelegationLimits {
  maxDepth: number;
  maxTurnsPerExchange: number;
  pairLimit: number;
  pairWindowSeconds: number;
}

export type RefusalCode = 'delegation_cycle' | 'delegation_depth' | 'delegation_turns' | 'delegation_rate_limited' | 'delegation_budget' | 'delegation_no_provider' | 'delegation_failed';

export interface Refusal {
  code: RefusalCode;
  notice: string;
}

/** Names for the agents of a chain, for notices ("assistant → researcher → assistant"). */
export type NameOf = (agentId: string) => string;

export function checkChain(exchange: Exchange, targetId: string, limits: DelegationLimits, nameOf: NameOf): Refusal | null {
  const path = [...exchange.chain, targetId].map(nameOf).join(' → ');
  if (exchange.chain.includes(targetId)) {
    return { code: 'delegation_cycle', notice: `Delegation stopped: ${path} would loop (${nameOf(targetId)} is already working on this request). ${nameOf(exchange.chain.at(-1)!)} carries on without it.` };
  }
  const depth = exchange.chain.length;
  if (depth > limits.maxDepth) {
    return { code: 'delegation_depth', notice: `Delegation stopped: ${path} is ${depth} hand-overs deep, past the limit of ${limits.maxDepth} (agents.delegation.maxDepth).` };
  }
  if (exchange.turns.used >= limits.maxTurnsPerExchange) {
    return { code: 'delegation_turns', notice: `Delegation stopped: this answer has already made ${exchange.turns.used} delegations, the limit per request (agents.delegation.maxTurnsPerExchange); ${nameOf(exchange.chain.at(-1)!)} must finish with what it has.` };
  }
  return null;
}

export function rateRefusal(from: string, to: string, limits: DelegationLimits, retryAfterSeconds: number): Refusal {
  return {
    code: 'delegation_rate_limited',
    notice: `Delegation stopped: ${from} has handed ${limits.pairLimit} tasks to ${to} within ${limits.pairWindowSeconds} s, the limit for one pair of agents (agents.delegation.pairLimit); it can again in ${retryAfterSeconds} s.`,
  };
}
