/**
 * Ollama through the `ollama` client: NDJSON chat, /api/tags, /api/embed.
 * The only local provider: `local` is true, which the "local-only" data
 * policy relies on. Ollama sends each tool call whole (no argument deltas)
 * and gives no call ids, so ids are made here.
 */
import { randomUUID } from 'node:crypto';
import { Ollama, type ChatResponse, type Message as OllamaMessage, type Tool as OllamaTool } from 'ollama';
import { ProviderError, kindForStatus, parseRetryAfter } from './errors.ts';
import { guardedCall, guardedChat, HEARTBEAT, type Heartbeat } from './stream-guard.ts';
import { mergeWithCatalogue } from './catalogue.ts';
import { anySignal, mapCommonError, refuseUserEndpoints, timedHealth, type AdapterOptions } from './base.ts';
import { emptyUsage, type ChatEvent, type ChatMessage, type ChatRequest, type Credential, type HealthResult, type ModelInfo, type ProviderAdapter, type StopReason } from './types.ts';
import type { ListedModel } from './openai-compatible.ts';

const NAME = 'ollama' as const;

export interface OllamaSettings {
  enabled: boolean;
  host: string;
}

/** The client's errors carry no headers; the fetch wrapper keeps the last retry-after here. */
interface ResponseMeta { retryAfterMs?: number }

export function mapOllamaError(err: unknown, meta: ResponseMeta = {}): ProviderError {
  const e = err as { name?: string; status_code?: number; error?: string; message?: string };
  if (e?.name === 'ResponseError' && typeof e.status_code === 'number') {
    const message = e.error ?? e.message ?? `HTTP ${e.status_code}`;
    let kind = kindForStatus(e.status_code, message);
    if (e.status_code === 404) kind = 'bad_request'; // model not pulled
    return new ProviderError(NAME, kind, e.status_code === 404 ? `${message} (pull it with \`ollama pull\`)` : message, {
      status: e.status_code,
      ...(meta.retryAfterMs !== undefined ? { retryAfterMs: meta.retryAfterMs } : {}),
      cause: err,
    });
  }
  const common = mapCommonError(NAME, err);
  if (common) return common;
  const message = (err as Error)?.message ?? String(err);
  if (/Did not receive done|Missing body/i.test(message)) return new ProviderError(NAME, 'malformed_stream', message, { cause: err });
  if (/context length|input length exceeds/i.test(message)) return new ProviderError(NAME, 'context_length', message, { cause: err });
  return new ProviderError(NAME, 'unavailable', message, { cause: err });
}

export function toOllamaMessages(system: string | undefined, messages: ChatMessage[]): OllamaMessage[] {
  const names = new Map<string, string>();
  const out: OllamaMessage[] = [];
  if (system) out.push({ role: 'system', content: system });
  for (const m of messages) {
    if (m.role === 'assistant') {
      for (const c of m.toolCalls ?? []) names.set(c.id, c.name);
      out.push({
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length ? { tool_calls: m.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) } : {}),
      });
    } else if (m.role === 'tool') {
      const toolName = m.toolCallId ? names.get(m.toolCallId) : undefined;
      out.push({ role: 'tool', content: m.content, ...(toolName ? { tool_name: toolName } : {}) });
    } else {
      out.push({ role: 'user', content: m.content, ...(m.images?.length ? { images: m.images.map((i) => i.data) } : {}) });
    }
  }
  return out;
}

export class OllamaAdapter implements ProviderAdapter {
  readonly name = NAME;
  readonly local = true;

  constructor(private readonly options: AdapterOptions<OllamaSettings>) {}

  hasSystemCredential(): boolean {
    return this.options.settings.enabled;
  }

  private client(credential?: Credential, signal?: AbortSignal, meta: ResponseMeta = {}): Ollama {
    const host = credential?.baseUrl ?? this.options.settings.host;
    // A user's own host is only reached through the guarded fetch (src/providers/user-endpoints.ts).
    const send = credential?.source === 'user' && credential.baseUrl ? (this.options.userEndpointFetch ?? refuseUserEndpoints) : fetch;
    return new Ollama({
      host,
      ...(credential?.apiKey ? { headers: { Authorization: `Bearer ${credential.apiKey}` } } : {}),
      fetch: async (input: string | URL | Request, init?: RequestInit) => {
        const combined = anySignal([init?.signal ?? undefined, signal]);
        const response = await send(input, { ...init, ...(combined ? { signal: combined } : {}) });
        if (response.status === 429) {
          const retryAfterMs = parseRetryAfter(response.headers);
          if (retryAfterMs !== undefined) meta.retryAfterMs = retryAfterMs;
        }
        return response;
      },
    });
  }

  private async listed(credential?: Credential): Promise<ListedModel[]> {
    try {
      const res = await this.client(credential, AbortSignal.timeout(this.options.policy.requestTimeoutMs)).list();
      return res.models.map((m) => {
        const families = m.details?.families ?? [];
        const out: ListedModel = { id: m.name, inputPricePerMTok: 0, outputPricePerMTok: 0, tier: 'economy' };
        if (families.includes('clip') || families.includes('mllama')) out.vision = true;
        if (/bert|nomic/i.test(m.details?.family ?? '')) out.embedding = true;
        return out;
      });
    } catch (err) {
      throw mapOllamaError(err);
    }
  }

  async listModels(credential?: Credential): Promise<ModelInfo[]> {
    return mergeWithCatalogue(NAME, await this.listed(credential));
  }

  healthCheck(credential?: Credential): Promise<HealthResult> {
    return timedHealth(() => this.listed(credential), (err) => mapOllamaError(err));
  }

  chat(request: ChatRequest): AsyncIterable<ChatEvent> {
    return guardedChat(NAME, this.options.policy, request, (signal) => this.attempt(request, signal), (err) => mapOllamaError(err));
  }

  private async *attempt(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent | Heartbeat> {
    const meta: ResponseMeta = {};
    try {
      yield* this.stream(request, signal, meta);
    } catch (err) {
      throw mapOllamaError(err, meta);
    }
  }

  private async *stream(request: ChatRequest, signal: AbortSignal, meta: ResponseMeta): AsyncGenerator<ChatEvent | Heartbeat> {
    const client = this.client(request.credential, signal, meta);
    const tools: OllamaTool[] | undefined = request.tools?.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: { type: 'object', ...t.parameters } as OllamaTool['function']['parameters'] },
    }));
    const options: Record<string, number> = {};
    if (request.temperature !== undefined) options.temperature = request.temperature;
    if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
    const stream = await client.chat({
      model: request.model,
      messages: toOllamaMessages(request.system, request.messages),
      stream: true,
      ...(tools?.length ? { tools } : {}),
      ...(Object.keys(options).length ? { options } : {}),
    });
    let toolIndex = 0;
    let last: ChatResponse | undefined;
    for await (const part of stream) {
      const msg = part.message;
      let emitted = false;
      if (msg?.thinking) {
        emitted = true;
        yield { type: 'thinking', delta: msg.thinking };
      }
      if (msg?.content) {
        emitted = true;
        yield { type: 'text', delta: msg.content };
      }
      for (const call of msg?.tool_calls ?? []) {
        const id = `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
        const args = call.function.arguments ?? {};
        if (typeof args !== 'object' || Array.isArray(args)) throw new ProviderError(NAME, 'malformed_stream', `the arguments of tool call "${call.function.name}" are not an object`);
        emitted = true;
        yield { type: 'tool_call_delta', index: toolIndex++, id, name: call.function.name, argumentsDelta: JSON.stringify(args) };
        yield { type: 'tool_call', call: { id, name: call.function.name, arguments: args } };
      }
      if (part.done) {
        last = part;
        break;
      }
      if (!emitted) yield HEARTBEAT;
    }
    if (!last) throw new ProviderError(NAME, 'malformed_stream', 'the stream ended without a final "done" message');
    const stopReason: StopReason = toolIndex > 0 ? 'tool_use' : last.done_reason === 'length' ? 'max_tokens' : last.done_reason === 'stop' || !last.done_reason ? 'end' : 'other';
    yield {
      type: 'done',
      usage: { ...emptyUsage(), inputTokens: last.prompt_eval_count ?? 0, outputTokens: last.eval_count ?? 0 },
      stopReason,
      model: last.model || request.model,
    };
  }

  embed(input: { model: string; texts: string[]; credential?: Credential; signal?: AbortSignal }): Promise<number[][]> {
    return guardedCall({
      provider: NAME,
      policy: this.options.policy,
      ...(input.signal ? { signal: input.signal } : {}),
      call: async (signal) => (await this.client(input.credential, signal).embed({ model: input.model, input: input.texts })).embeddings,
      mapError: mapOllamaError,
    });
  }
}
