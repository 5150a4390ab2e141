/** The shapes of the public API the terminal client reads (a subset: what it shows). See docs/api.md and docs/live.md. */
import type { ChatMessage } from '../shared/api-types.ts';

// Shared with the web page: one definition of the API's shapes.
export { fromFrame, fromView, type ChatMessage, type Conversation, type LiveAnswer, type MessageView, type Routing, type SessionInfo, type Usage } from '../shared/api-types.ts';

export interface Budget {
  state?: string;
  monthlyUsd?: number | null;
  spentUsd?: number;
}

export interface Frame {
  type: string;
  id?: string | null;
  conversationId?: string;
  [key: string]: unknown;
}

const usd = (n: number) => (n === 0 ? '$0' : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);

/** The receipt under an answer: model, provider, rule, reason, tokens, cost — one line, plain text. */
export function receiptParts(m: Pick<ChatMessage, 'provider' | 'model' | 'routing' | 'usage'>): { label: string; value: string }[] {
  const parts: { label: string; value: string }[] = [];
  if (m.model) parts.push({ label: 'model', value: m.model });
  if (m.provider) parts.push({ label: 'provider', value: m.provider });
  if (m.routing) {
    parts.push({ label: 'rule', value: m.routing.rule?.name ?? 'none' });
    if (m.routing.reason) parts.push({ label: 'why', value: m.routing.reason });
  }
  if (m.usage) {
    parts.push({ label: 'tokens', value: `${m.usage.inputTokens} in / ${m.usage.outputTokens} out` });
    parts.push({ label: 'cost', value: m.usage.costUsd === null ? 'unknown' : usd(m.usage.costUsd) });
  }
  return parts;
}

export const receiptLine = (m: Pick<ChatMessage, 'provider' | 'model' | 'routing' | 'usage'>): string =>
  receiptParts(m)
    .map((p) => `${p.label}: ${p.value}`)
    .join(' · ');
