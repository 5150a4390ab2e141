/**
 * Scripting agents on the provider simulators: whichever provider routing
 * picks, each request is answered by the behaviour of the agent whose
 * system prompt it carries (a marker in the prompt), so tests state what
 * each agent does without pinning models.
 */
import type { RecordedRequest, Step } from '../simulators/index.ts';
import type { TestMosaic } from '../support/mosaic-harness.ts';

export type Behaviour = (request: { body: string; raw: RecordedRequest }) => Step;

/** Answers every chat request by the behaviour whose marker appears in it (first match). */
export function scriptAgents(t: TestMosaic, behaviours: Record<string, Behaviour>): void {
  for (const sim of Object.values(t.simulators)) {
    sim.setDefault((raw) => {
      if (raw.kind !== 'chat') return {};
      const body = JSON.stringify(raw.body);
      for (const [marker, behave] of Object.entries(behaviours)) if (systemOf(raw).includes(marker)) return behave({ body, raw });
      return {};
    });
  }
}

/** The system prompt of a chat request, whatever the wire format put it in. */
export function systemOf(request: RecordedRequest): string {
  const body = request.body as { system?: unknown; instructions?: unknown; messages?: Array<{ role?: string; content?: unknown }>; input?: Array<{ role?: string; content?: unknown }> };
  const parts: string[] = [];
  if (body.system !== undefined) parts.push(JSON.stringify(body.system));
  if (typeof body.instructions === 'string') parts.push(body.instructions);
  for (const m of [...(body.messages ?? []), ...(Array.isArray(body.input) ? body.input : [])]) if (m?.role === 'system' || m?.role === 'developer') parts.push(JSON.stringify(m.content));
  return parts.join('\n');
}

/** Every chat request to any simulator, oldest first within each provider. */
export function allChats(t: TestMosaic): Array<{ provider: string; request: RecordedRequest }> {
  return Object.entries(t.simulators).flatMap(([provider, sim]) => sim.chatRequests().map((request) => ({ provider, request })));
}

/** True when the request already carries a tool's result (the agent's second step). */
export const hasToolResult = (body: string): boolean => /"tool_result"|"role":"tool"|"function_call_output"/.test(body);

/** Text between `[[` and `]]` in the request (a result marker handed back by a tool). */
export function bracketed(body: string): string | null {
  const m = /\[\[([^\]]*)\]\]/.exec(body);
  return m ? m[1]! : null;
}
