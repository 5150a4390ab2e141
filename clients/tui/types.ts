/** The shapes of the public API the terminal client reads (a subset: what it shows). See docs/api.md and docs/live.md. */
export interface Conversation {
  id: string;
  title: string | null;
  agentId: string | null;
  pinnedProvider: string | null;
  pinnedModel: string | null;
  localOnly: boolean;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

export interface Routing {
  outcome?: 'routed' | 'refused';
  provider?: string;
  model?: string;
  rule: { id?: string; name: string } | null;
  reason: string;
  classification?: { taskType: string; complexity: string; domain: string; confidence: number };
  fallbacksTried?: Array<{ provider: string; model: string; why: string }>;
}

export interface ChatMessage {
  id: string;
  seq: number;
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
  channel: string;
  replyToId: string | null;
  provider: string | null;
  model: string | null;
  routing: Routing | null;
  usage: Usage | null;
  createdAt: string;
}

/** A message as REST lists it. */
export interface MessageView extends Omit<ChatMessage, 'usage'> {
  usage?: Usage;
}

export interface SessionInfo {
  conversationId?: string;
  agent: { id: string | null; name: string; displayName: string };
  provider: string | null;
  model: string | null;
  pinned: boolean;
}

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

export const fromView = (v: MessageView): ChatMessage => ({ ...v, usage: v.usage ?? null });

/** A live `message:new`: the ChannelMessage JSON, what the conversation knows of it in metadata. */
export function fromFrame(f: Frame): ChatMessage {
  const m = f.message as { id: string; content: string; replyToId?: string; timestamp: string; metadata: Record<string, unknown> };
  const md = m.metadata ?? {};
  return {
    id: m.id,
    seq: f.seq as number,
    role: md.role as ChatMessage['role'],
    content: m.content,
    channel: String(md.channel ?? ''),
    replyToId: m.replyToId ?? null,
    provider: (md.provider as string | undefined) ?? null,
    model: (md.model as string | undefined) ?? null,
    routing: (md.routing as Routing | undefined) ?? null,
    usage: (md.usage as Usage | undefined) ?? null,
    createdAt: m.timestamp,
  };
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
