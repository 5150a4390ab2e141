/**
 * The public API's shapes both clients read — the terminal client
 * (clients/tui) and the web page (clients/web) — and the one translation
 * they both need, a live `message:new` into a message. One definition, so
 * the two surfaces cannot drift apart. Types of the public protocol only
 * (docs/api.md, docs/live.md): nothing of Mosaic's own code.
 */
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

/** A routing receipt (stored with an answer) or an explained decision (`outcome`, `userNotice`, `code`). */
export interface Routing {
  outcome?: 'routed' | 'refused';
  provider?: string;
  model?: string;
  rule: { id?: string; name: string } | null;
  reason: string;
  classification?: { taskType: string; complexity: string; domain: string; confidence: number };
  fallbacksTried?: Array<{ provider: string; model: string; why: string }>;
  estimatedCostTier?: string;
  userNotice?: string;
  code?: string;
}

/** One message, from the REST history or a live `message:new`. */
export interface ChatMessage {
  id: string;
  seq: number;
  role: 'user' | 'assistant' | 'system' | 'tool';
  content: string;
  contentType: string;
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

/** An answer being written (answer:started, then its deltas). */
export interface LiveAnswer {
  replyId: string;
  replyTo: string;
  provider: string;
  model: string;
  routing: Routing | null;
  seq: number;
  text: string;
  thinking: string;
}

export interface SessionInfo {
  conversationId?: string;
  agent: { id: string | null; name: string; displayName: string };
  provider: string | null;
  model: string | null;
  pinned: boolean;
}

export const fromView = (v: MessageView): ChatMessage => ({ ...v, usage: v.usage ?? null });

/** A live `message:new` frame (its `message` is ChannelMessage JSON; what the conversation knows of it is in metadata) as a message. */
export function fromFrame(f: { type: string; message?: unknown; seq?: unknown }): ChatMessage {
  const m = f.message as { id: string; content: string; contentType: string; replyToId?: string; timestamp: string; metadata: Record<string, unknown> };
  const md = m.metadata ?? {};
  return {
    id: m.id,
    seq: f.seq as number,
    role: md.role as ChatMessage['role'],
    content: m.content,
    contentType: m.contentType,
    channel: String(md.channel ?? ''),
    replyToId: m.replyToId ?? null,
    provider: (md.provider as string | undefined) ?? null,
    model: (md.model as string | undefined) ?? null,
    routing: (md.routing as Routing | undefined) ?? null,
    usage: (md.usage as Usage | undefined) ?? null,
    createdAt: m.timestamp,
  };
}
