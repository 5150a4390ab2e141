/** The shapes of the API this page reads (a subset: what it shows). */
export interface User {
  id: string;
  username: string;
  role: 'admin' | 'member';
}

export interface SessionState {
  user: User;
  csrfToken: string;
  expiresAt: string;
}

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
  outcome: 'routed' | 'refused';
  provider?: string;
  model?: string;
  rule: { id: string; name: string } | null;
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

/** An answer being written. */
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

export interface Agent {
  id: string;
  name: string;
  displayName?: string | null;
  description?: string | null;
  system?: boolean;
  ownerId?: string | null;
}

export interface ModelInfo {
  provider: string;
  id: string;
  displayName?: string;
  available: boolean;
  unavailableReason?: string;
  tier?: string;
}

export interface SessionInfo {
  agent: { id: string | null; name: string; displayName: string };
  provider: string | null;
  model: string | null;
  pinned: boolean;
}
