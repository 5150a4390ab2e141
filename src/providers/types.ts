/**
 * The one interface every provider adapter implements. The agent runner,
 * routing and the HTTP routes only see these types, never an SDK's.
 */
import { PROVIDER_NAMES, type ProviderName } from '../config/schema.ts';

export { PROVIDER_NAMES, type ProviderName };

export interface ToolCall { id: string; name: string; arguments: Record<string, unknown> }

export interface ChatMessage {
  role: 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls?: ToolCall[];
  /** For role 'tool': the id of the call this message answers. */
  toolCallId?: string;
  images?: Array<{ mimeType: string; data: string /* base64 */ }>;
  /** For role 'assistant' inside one tool loop: what the provider needs back verbatim (see ProviderState). */
  providerState?: ProviderState;
}

/**
 * Opaque content a provider returned with an answer and requires back,
 * unchanged, when the conversation continues with the same model: Anthropic's
 * signed thinking blocks, which models with thinking always on (Opus 5.5,
 * Fable 5.x) reject a tool result without. It is bound to the provider and
 * model that produced it, so adapters ignore state from anyone else.
 */
export interface ProviderState { provider: ProviderName; model: string; blocks: unknown[] }

export interface ToolSpec { name: string; description: string; parameters: Record<string, unknown> /* JSON schema */ }

/** A key and/or base URL. A user's own credential overrides the system one for that user's requests. */
export interface Credential {
  apiKey?: string;
  baseUrl?: string;
  source: 'system' | 'user';
  credentialId?: string;
  /** Whose credential it is (source 'user'): its failures count in that user's health view only. */
  userId?: string;
}

export interface ChatRequest {
  model: string;
  system?: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  maxTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
  credential?: Credential;
}

/**
 * Token counts of one answer. `inputTokens` counts uncached input only (as
 * Anthropic reports it); OpenAI-style `prompt_tokens` are split into
 * uncached input and `cacheReadTokens`.
 */
export interface Usage { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number }

export type StopReason = 'end' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'content_filter' | 'other';

export type ChatEvent =
  | { type: 'text'; delta: string }
  | { type: 'thinking'; delta: string }
  | { type: 'tool_call_delta'; index: number; id?: string; name?: string; argumentsDelta: string }
  | { type: 'tool_call'; call: ToolCall } // emitted once a call is complete, arguments parsed
  | { type: 'done'; usage: Usage; stopReason: StopReason; model: string; providerState?: ProviderState };

export interface ModelInfo {
  provider: ProviderName;
  id: string;
  displayName: string;
  tier: 'economy' | 'standard' | 'premium';
  contextWindow: number;
  maxOutput: number;
  tools: boolean;
  vision: boolean;
  streaming: boolean;
  embedding: boolean;
  inputPricePerMTok: number;
  outputPricePerMTok: number;
  /**
   * When the provider stops serving the model (ISO date). From the provider's
   * listing where it says so, else the catalogue. Routing never picks a model
   * past this date; the models endpoint shows it so admins can move rules on.
   */
  retiresAt?: string;
  source: 'catalogue' | 'listed' | 'both';
}

export interface HealthResult { ok: boolean; latencyMs: number; error?: string }

export interface ProviderAdapter {
  readonly name: ProviderName;
  /** True only for ollama: the data policy "local-only" relies on it. */
  readonly local: boolean;
  /** A key in config/env (ollama: always true when enabled). */
  hasSystemCredential(): boolean;
  listModels(credential?: Credential): Promise<ModelInfo[]>;
  /** Cheap: a model listing, never a billed completion. */
  healthCheck(credential?: Credential): Promise<HealthResult>;
  chat(request: ChatRequest): AsyncIterable<ChatEvent>;
  embed?(input: { model: string; texts: string[]; credential?: Credential; signal?: AbortSignal }): Promise<number[][]>;
}

export const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });
