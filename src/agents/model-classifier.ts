/**
 * Asks a cheap model what a message is, for the routing classifier when
 * its own rules are unsure. The answer is a small JSON object; anything
 * else is ignored (routing then keeps the deterministic result).
 */
import type { ProviderAdapter } from '../providers/types.ts';
import { COMPLEXITIES, TASK_TYPES, type Classification } from '../routing/types.ts';

const PROMPT = `Classify the user's message for routing to an AI model. Answer with JSON only, no prose:
{"taskType": one of ${TASK_TYPES.map((t) => `"${t}"`).join(', ')},
 "complexity": one of ${COMPLEXITIES.map((c) => `"${c}"`).join(', ')},
 "domain": a single lowercase word such as "software", "medicine", "finance", "general"}`;

export function parseClassification(text: string): Partial<Classification> {
  // From the first "{" to the last "}" (what a greedy /\{[\s\S]*\}/ took, without its quadratic backtracking).
  const open = text.indexOf('{');
  const close = text.lastIndexOf('}');
  if (open < 0 || close < open) return {};
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text.slice(open, close + 1)) as Record<string, unknown>;
  } catch {
    return {};
  }
  const out: Partial<Classification> = {};
  if (typeof value.taskType === 'string' && (TASK_TYPES as readonly string[]).includes(value.taskType)) out.taskType = value.taskType as Classification['taskType'];
  if (typeof value.complexity === 'string' && (COMPLEXITIES as readonly string[]).includes(value.complexity)) out.complexity = value.complexity as Classification['complexity'];
  if (typeof value.domain === 'string' && /^[a-z][a-z-]{0,30}$/.test(value.domain)) out.domain = value.domain;
  return out;
}

export function modelClassifier(adapter: ProviderAdapter, model: string) {
  return async (text: string, signal: AbortSignal): Promise<Partial<Classification>> => {
    let answer = '';
    // No temperature (Haiku 5.5 and other current models refuse a non-default one) and room for
    // adaptive thinking, which counts against max_tokens; the answer itself is one short JSON line.
    for await (const event of adapter.chat({ model, system: PROMPT, messages: [{ role: 'user', content: text.slice(0, 4000) }], maxTokens: 1024, signal })) {
      if (event.type === 'text') answer += event.delta;
    }
    return parseClassification(answer);
  };
}
