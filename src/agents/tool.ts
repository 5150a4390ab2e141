/**
 * What an agent tool is. The acting user comes from `ToolContext`, which the
 * server fills in; a tool never takes identity from the model's arguments.
 */
import type { z } from 'zod';
import type { Actor } from '../identity/actor.ts';
import type { ToolSpec } from '../providers/types.ts';
import type { Exchange } from './delegation/exchange.ts';

export interface ToolContext {
  actor: Actor;
  conversationId?: string;
  agentId?: string | null;
  signal?: AbortSignal;
  /** The session the answer's model calls are recorded against (delegated calls too). */
  sessionId?: string;
  /** Set while answering a person's message: the delegations this answer makes belong to it. */
  exchange?: Exchange;
}

export interface AgentTool<A extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  args: A;
  /** JSON schema sent to the model; kept beside `args` so the two stay in step. */
  parameters: Record<string, unknown>;
  run(args: z.infer<A>, ctx: ToolContext): Promise<unknown>;
}

export function toolSpec(tool: AgentTool): ToolSpec {
  return { name: tool.name, description: tool.description, parameters: tool.parameters };
}
