/**
 * `delegate` and `ask_agent`: the tools an agent allowed to hand work to
 * other agents (its config's `delegatesTo`) is offered. The agents it may
 * name are listed in the tool itself, so the model never guesses; the
 * person and the exchange come from the server-side context.
 */
import { z } from 'zod';
import type { AgentConfig } from '../agent-store.ts';
import type { DelegationService } from '../delegation/delegation-service.ts';
import type { AgentTool } from '../tool.ts';

export const DELEGATION_TOOL_NAMES = ['delegate', 'ask_agent', 'broadcast'] as const;

const delegateArgs = z.object({ agent: z.string().min(1).max(100), task: z.string().min(1).max(20_000), context: z.string().max(20_000).optional() });
const askArgs = z.object({ agent: z.string().min(1).max(100), question: z.string().min(1).max(20_000) });
const broadcastArgs = z.object({ message: z.string().min(1).max(20_000), agents: z.array(z.string().min(1).max(100)).min(2).max(20).optional() });

export function delegationTools(service: DelegationService, from: AgentConfig, targets: AgentConfig[]): AgentTool[] {
  const names = targets.map((t) => t.name);
  const roster = targets.map((t) => `- ${t.name}${t.description ? `: ${t.description}` : ''}`).join('\n');
  const pick = (name: string): AgentConfig => {
    const found = targets.find((t) => t.name === name.trim().toLowerCase());
    if (!found) throw new Error(`"${name}" is not an agent ${from.name} may hand work to; choose one of: ${names.join(', ')}`);
    return found;
  };
  const delegate: AgentTool<typeof delegateArgs> = {
    name: 'delegate',
    description: `Hand a task to another agent, which does it with its own instructions and tools and returns the result. Agents you may use:\n${roster}`,
    args: delegateArgs,
    parameters: {
      type: 'object',
      properties: {
        agent: { type: 'string', enum: names, description: 'The agent to hand the task to.' },
        task: { type: 'string', description: 'What to do, self-contained: the other agent sees nothing of this conversation.' },
        context: { type: 'string', description: 'Material the task needs (text to summarise, facts gathered so far).' },
      },
      required: ['agent', 'task'],
    },
    run: (args, ctx) => service.delegate({ kind: 'delegate', from, to: pick(args.agent), task: args.task, context: args.context }, ctx),
  };
  const ask: AgentTool<typeof askArgs> = {
    name: 'ask_agent',
    description: `Ask another agent a question and get its answer (it answers from what it knows, without tools). Agents you may ask:\n${roster}`,
    args: askArgs,
    parameters: {
      type: 'object',
      properties: {
        agent: { type: 'string', enum: names, description: 'The agent to ask.' },
        question: { type: 'string', description: 'The question, self-contained.' },
      },
      required: ['agent', 'question'],
    },
    run: (args, ctx) => service.delegate({ kind: 'ask', from, to: pick(args.agent), task: args.question }, ctx),
  };
  const broadcast: AgentTool<typeof broadcastArgs> = {
    name: 'broadcast',
    description: `Announce something to several agents at once (no reply expected; they are not asked to act). Agents you may address:\n${roster}`,
    args: broadcastArgs,
    parameters: {
      type: 'object',
      properties: {
        message: { type: 'string', description: 'The announcement.' },
        agents: { type: 'array', items: { type: 'string', enum: names }, minItems: 2, description: 'Whom to address (default: all of them).' },
      },
      required: ['message'],
    },
    run: (args, ctx) => service.broadcast(from, args.agents ? [...new Set(args.agents.map(pick))] : targets, args.message, ctx),
  };
  // A broadcast needs more than one listener; with one agent it would be a delegation.
  return (targets.length >= 2 ? [delegate, ask, broadcast] : [delegate, ask]) as unknown as AgentTool[];
}
