/**
 * The chat-completions wire format through the `openai` SDK, used by
 * OpenRouter and Z.ai for chat, and by all three OpenAI-style providers for
 * model listing, health and embeddings (OpenAI's own chat goes over the
 * Responses API: openai.ts). Each provider supplies a flavour: its quirks in
 * request parameters, headers, model listing and error codes.
 */
import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionContentPart, ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions/completions';
import { ProviderError } from './errors.ts';
import { mapOpenAISdkError, type ErrorKindHook } from './openai-errors.ts';
import { guardedCall, guardedChat, HEARTBEAT, type Heartbeat } from './stream-guard.ts';
import { mergeWithCatalogue } from './catalogue.ts';
import { missingKey, parseToolArguments, resolveCredential, sdkLogger, timedHealth, type AdapterOptions, type CloudProviderSettings } from './base.ts';
import { emptyUsage, type ChatEvent, type ChatMessage, type ChatRequest, type Credential, type HealthResult, type ModelInfo, type ProviderAdapter, type ProviderName, type StopReason, type Usage } from './types.ts';

export type ListedModel = { id: string } & Partial<ModelInfo>;

export interface OpenAIFlavor {
  name: Exclude<ProviderName, 'anthropic' | 'ollama'>;
  /** OpenAI wants `max_completion_tokens`; most compatible servers still read `max_tokens`. */
  maxTokensParam: 'max_tokens' | 'max_completion_tokens';
  /** Extra headers on every request. */
  headers?: (options: AdapterOptions<CloudProviderSettings>) => Record<string, string>;
  /** Extra body fields on chat requests (e.g. Z.ai's `tool_stream`). */
  extraBody?: (request: ChatRequest) => Record<string, unknown>;
  /** Turns one raw item of GET /models into what Mosaic knows about it. */
  parseListed?: (raw: Record<string, unknown>) => ListedModel;
  /** Maps the provider's own error codes before the generic status mapping. */
  errorKind?: ErrorKindHook;
  /** The provider offers /embeddings. */
  embeddings: boolean;
  /** A 404 on /models means the provider has no listing (health then only checks reachability). */
  listingOptional?: boolean;
}

function finishReason(reason: string | null | undefined): StopReason {
  switch (reason) {
    case 'stop':
      return 'end';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'length':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'content_filter':
    case 'sensitive':
      return 'content_filter';
    default:
      return 'other';
  }
}

export function toOpenAIMessages(system: string | undefined, messages: ChatMessage[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  if (system) out.push({ role: 'system', content: system });
  for (const m of messages) {
    if (m.role === 'tool') {
      out.push({ role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content });
    } else if (m.role === 'assistant') {
      out.push({
        role: 'assistant',
        content: m.content || (m.toolCalls?.length ? null : ''),
        ...(m.toolCalls?.length
          ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: JSON.stringify(c.arguments) } })) }
          : {}),
      });
    } else if (m.images?.length) {
      const parts: ChatCompletionContentPart[] = m.images.map((img) => ({ type: 'image_url', image_url: { url: `data:${img.mimeType};base64,${img.data}` } }));
      if (m.content) parts.push({ type: 'text', text: m.content });
      out.push({ role: 'user', content: parts });
    } else {
      out.push({ role: 'user', content: m.content });
    }
  }
  return out;
}

interface CompatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } | null;
  /** Some servers report these at the top level. */
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

function toUsage(raw: CompatUsage): Usage {
  const cacheRead = raw.prompt_tokens_details?.cached_tokens ?? raw.cache_read_input_tokens ?? 0;
  const cacheWrite = raw.prompt_tokens_details?.cache_write_tokens ?? raw.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: Math.max(0, (raw.prompt_tokens ?? 0) - cacheRead - cacheWrite),
    outputTokens: raw.completion_tokens ?? 0,
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
  };
}

export class OpenAICompatibleAdapter implements ProviderAdapter {
  readonly name: OpenAIFlavor['name'];
  readonly local = false;
  private systemClient: OpenAI | undefined;

  constructor(
    protected readonly flavor: OpenAIFlavor,
    protected readonly options: AdapterOptions<CloudProviderSettings>,
  ) {
    this.name = flavor.name;
    if (flavor.embeddings) this.embed = this.embedImpl.bind(this);
  }

  embed?: ProviderAdapter['embed'];

  hasSystemCredential(): boolean {
    return !!this.options.settings.apiKey;
  }

  mapError = (err: unknown): ProviderError => mapOpenAISdkError(this.name, err, this.flavor.errorKind);

  /** The SDK client for a request: the user's own key when given, else the shared system client. */
  protected client(credential?: Credential): OpenAI {
    const { apiKey, baseUrl, user, fetch } = resolveCredential(this.options.settings, credential, this.options.userEndpointFetch);
    if (!apiKey) throw missingKey(this.name);
    const make = () =>
      new OpenAI({
        apiKey,
        baseURL: baseUrl,
        maxRetries: 0,
        ...(fetch ? { fetch } : {}),
        timeout: this.options.policy.requestTimeoutMs,
        logger: sdkLogger(this.options.logger, this.name),
        ...(this.flavor.headers ? { defaultHeaders: this.flavor.headers(this.options) } : {}),
      });
    if (user || credential?.apiKey || credential?.baseUrl) return make();
    this.systemClient ??= make();
    return this.systemClient;
  }

  private async listRaw(credential: Credential | undefined, limit?: number): Promise<ListedModel[] | null> {
    const client = this.client(credential);
    const out: ListedModel[] = [];
    try {
      for await (const m of client.models.list()) {
        const raw = m as unknown as Record<string, unknown>;
        out.push(this.flavor.parseListed ? this.flavor.parseListed(raw) : { id: m.id });
        if (limit && out.length >= limit) break;
      }
    } catch (err) {
      if (this.flavor.listingOptional && err instanceof OpenAI.NotFoundError) return null;
      throw this.mapError(err);
    }
    return out;
  }

  async listModels(credential?: Credential): Promise<ModelInfo[]> {
    const listed = await this.listRaw(credential);
    return mergeWithCatalogue(this.name, listed ?? []);
  }

  healthCheck(credential?: Credential): Promise<HealthResult> {
    return timedHealth(() => this.listRaw(credential, 1), this.mapError);
  }

  chat(request: ChatRequest): AsyncIterable<ChatEvent> {
    return guardedChat(this.name, this.options.policy, request, (signal) => this.attempt(request, signal), this.mapError);
  }

  /** One attempt at a chat answer (chat completions); OpenAI's own adapter answers over Responses instead. */
  protected async *attempt(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent | Heartbeat> {
    const client = this.client(request.credential);
    const tools: ChatCompletionTool[] | undefined = request.tools?.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: { type: 'object', ...t.parameters } },
    }));
    const body: ChatCompletionCreateParamsStreaming = {
      model: request.model,
      messages: toOpenAIMessages(request.system, request.messages),
      stream: true,
      stream_options: { include_usage: true },
      ...(tools?.length ? { tools } : {}),
      ...(request.maxTokens !== undefined ? { [this.flavor.maxTokensParam]: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(this.flavor.extraBody?.(request) ?? {}),
    };
    const stream = await client.chat.completions.create(body, { signal });

    let usage: Usage = emptyUsage();
    let model = request.model;
    let stop: StopReason | null = null;
    const calls = new Map<number, { id: string; name: string; args: string }>();
    let flushed = false;

    const flushCalls = function* (provider: ProviderName): Generator<ChatEvent> {
      for (const [, c] of [...calls.entries()].sort((a, b) => a[0] - b[0])) {
        yield { type: 'tool_call', call: { id: c.id, name: c.name, arguments: parseToolArguments(provider, c.name, c.args) } };
      }
      flushed = true;
    };

    for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
      if (chunk.model) model = chunk.model;
      if (chunk.usage) usage = toUsage(chunk.usage as CompatUsage);
      const choice = chunk.choices?.[0];
      let emitted = false;
      if (choice) {
        const delta = choice.delta as ChatCompletionChunk.Choice.Delta & { reasoning?: string | null; reasoning_content?: string | null };
        const thinking = delta.reasoning_content ?? delta.reasoning;
        if (thinking) {
          emitted = true;
          yield { type: 'thinking', delta: thinking };
        }
        if (delta.content) {
          emitted = true;
          yield { type: 'text', delta: delta.content };
        }
        for (const tc of delta.tool_calls ?? []) {
          let entry = calls.get(tc.index);
          if (!entry) {
            entry = { id: tc.id ?? `call_${tc.index}`, name: tc.function?.name ?? '', args: '' };
            calls.set(tc.index, entry);
          } else {
            if (tc.id) entry.id = tc.id;
            if (tc.function?.name && !entry.name) entry.name = tc.function.name;
          }
          const argumentsDelta = tc.function?.arguments ?? '';
          entry.args += argumentsDelta;
          emitted = true;
          yield { type: 'tool_call_delta', index: tc.index, ...(tc.id ? { id: tc.id } : {}), ...(tc.function?.name ? { name: tc.function.name } : {}), argumentsDelta };
        }
        if (choice.finish_reason) {
          stop = finishReason(choice.finish_reason);
          if (calls.size && !flushed) {
            emitted = true;
            yield* flushCalls(this.name);
          }
        }
      }
      if (!emitted) yield HEARTBEAT;
    }
    if (stop === null) throw new ProviderError(this.name, 'malformed_stream', 'the stream ended without a finish_reason');
    if (calls.size && !flushed) yield* flushCalls(this.name);
    if (calls.size && stop === 'end') stop = 'tool_use';
    yield { type: 'done', usage, stopReason: stop, model };
  }

  private async embedImpl(input: { model: string; texts: string[]; credential?: Credential; signal?: AbortSignal }): Promise<number[][]> {
    const client = this.client(input.credential);
    return guardedCall({
      provider: this.name,
      policy: this.options.policy,
      ...(input.signal ? { signal: input.signal } : {}),
      call: async (signal) => {
        const res = await client.embeddings.create({ model: input.model, input: input.texts, encoding_format: 'float' }, { signal });
        return [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      },
      mapError: (err) => this.mapError(err),
    });
  }
}
