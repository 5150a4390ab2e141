/**
 * An agent config row as routing sees it. `agent_configs.capabilities`
 * stores preferred models as strings ("anthropic/claude-opus-5-5", or a name
 * `/model` would accept); the agent's own provider/model, when set, is its
 * first preference.
 */
import { parseModelSelection } from './model-pin.ts';
import type { AgentProfile, ModelDirectory, ModelRef } from './types.ts';

export interface AgentConfigLike {
  id: string;
  name: string;
  provider?: string | null;
  model?: string | null;
  tools?: string[];
  capabilities?: { domains?: string[]; preferredModels?: string[] };
}

export function toAgentProfile(agent: AgentConfigLike, directory: ModelDirectory): AgentProfile {
  const preferred: ModelRef[] = [];
  const add = (text: string) => {
    const sel = parseModelSelection(text, directory);
    // A name that does not resolve is left out rather than guessed; the rules still route the message.
    if (sel.kind === 'pin' && !preferred.some((p) => p.provider === sel.provider && p.model === sel.model)) preferred.push({ provider: sel.provider, model: sel.model });
  };
  if (agent.provider && agent.model) add(`${agent.provider}/${agent.model}`);
  for (const m of agent.capabilities?.preferredModels ?? []) add(m);
  return {
    id: agent.id,
    name: agent.name,
    ...(agent.capabilities?.domains?.length ? { domains: agent.capabilities.domains } : {}),
    ...(preferred.length ? { preferredModels: preferred } : {}),
    ...(agent.tools ? { tools: agent.tools } : {}),
  };
}
