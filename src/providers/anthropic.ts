/** Anthropic (Messages API) through @anthropic-ai/sdk. */
import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlockParam, MessageParam, RawMessageStreamEvent, RedactedThinkingBlockParam, StopReason as AnthropicStopReason, ThinkingBlockParam, Tool } from '@anthropic-ai/sdk/resources/messages/messages';
import { ProviderError, kindForStatus, looksLikeContextLength, parseRetryAfter } from './errors.ts';
import { guardedChat, HEARTBEAT, type Heartbeat } from './stream-guard.ts';
import { mergeWithCatalogue } from './catalogue.ts';
import { defaultMaxTokens, mapCommonError, missingKey, parseToolArguments, resolveCredential, sdkLogger, timedHealth, type AdapterOptions, type CloudProviderSettings } from './base.ts';
import { emptyUsage, type ChatEvent, type ChatMessage, type ChatRequest, type Credential, type HealthResult, type ModelInfo, type ProviderAdapter, type StopReason, type Usage } from './types.ts';

const NAME = 'anthropic' as const;

const ERROR_TYPE_KIND: Record<string, ProviderError['kind']> = {
  authentication_error: 'auth',
  permission_error: 'auth',
  billing_error: 'auth',
  rate_limit_error: 'rate_limit',
  overloaded_error: 'unavailable',
  api_error: 'unavailable',
  timeout_error: 'timeout',
  invalid_request_error: 'bad_request',
  not_found_error: 'bad_request',
};

export function mapAnthropicError(err: unknown): ProviderError {
  if (err instanceof Anthropic.APIError && !(err instanceof Anthropic.APIUserAbortError) && !(err instanceof Anthropic.APIConnectionError)) {
    const body = err.error as { error?: { type?: string; message?: string } } | undefined;
    const type = err.type ?? body?.error?.type ?? undefined;
    const message = err.apiMessage ?? body?.error?.message ?? err.message;
    const retryAfterMs = parseRetryAfter(err.headers);
    let kind = err.status !== undefined ? kindForStatus(err.status, message, type ?? undefined) : type ? (ERROR_TYPE_KIND[type] ?? 'unavailable') : 'unavailable';
    if (err.status === 529 || type === 'overloaded_error') kind = 'unavailable';
    if ((kind === 'bad_request' || type === 'invalid_request_error') && looksLikeContextLength(message)) kind = 'context_length';
    return new ProviderError(NAME, kind, message, {
      ...(err.status !== undefined ? { status: err.status } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(type ? { providerCode: type } : {}),
      cause: err,
    });
  }
  return mapCommonError(NAME, err) ?? new ProviderError(NAME, 'unavailable', (err as Error)?.message ?? String(err), { cause: err });
}

function stopReason(reason: AnthropicStopReason | null): StopReason {
  switch (reason) {
    case 'end_turn':
      return 'end';
    case 'tool_use':
      return 'tool_use';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'max_tokens';
    case 'stop_sequence':
      return 'stop_sequence';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

type ImageMime = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';

/**
 * Our history → Anthropic messages: tool results go back as user turns,
 * consecutive ones merged. Thinking blocks the same model produced earlier in
 * this tool loop lead their assistant turn again, exactly as received: the
 * API refuses a tool result whose assistant turn lost them when thinking is on.
 */
export function toAnthropicMessages(messages: ChatMessage[], model?: string): MessageParam[] {
  const out: MessageParam[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlockParam[]) => {
    const last = out[out.length - 1];
    if (last && last.role === role && Array.isArray(last.content)) (last.content as ContentBlockParam[]).push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const m of messages) {
    if (m.role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: m.content }]);
      continue;
    }
    const blocks: ContentBlockParam[] = [];
    if (m.role === 'assistant' && m.providerState?.provider === NAME && m.providerState.model === model) {
      blocks.push(...(m.providerState.blocks as ContentBlockParam[]));
    }
    for (const img of m.images ?? []) {
      blocks.push({ type: 'image', source: { type: 'base64', media_type: img.mimeType as ImageMime, data: img.data } });
    }
    if (m.content) blocks.push({ type: 'text', text: m.content });
    if (m.role === 'assistant') {
      for (const call of m.toolCalls ?? []) blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.arguments });
    }
    if (blocks.length === 0) blocks.push({ type: 'text', text: '' });
    push(m.role, blocks);
  }
  return out;
}

export class AnthropicAdapter implements ProviderAdapter {
  readonly name = NAME;
  readonly local = false;
  private systemClient: Anthropic | undefined;

  constructor(private readonly options: AdapterOptions<CloudProviderSettings>) {}

  hasSystemCredential(): boolean {
    return !!this.options.settings.apiKey;
  }

  private client(credential?: Credential): Anthropic {
    const { apiKey, baseUrl, user, fetch } = resolveCredential(this.options.settings, credential, this.options.userEndpointFetch);
    if (!apiKey) throw missingKey(NAME);
    const make = () =>
      new Anthropic({
        apiKey,
        baseURL: baseUrl,
        maxRetries: 0,
        ...(fetch ? { fetch } : {}),
        timeout: this.options.policy.requestTimeoutMs,
        logger: sdkLogger(this.options.logger, NAME),
      });
    if (user || credential?.apiKey || credential?.baseUrl) return make();
    this.systemClient ??= make();
    return this.systemClient;
  }

  async listModels(credential?: Credential): Promise<ModelInfo[]> {
    const client = this.client(credential);
    const listed: Array<{ id: string; displayName?: string; contextWindow?: number; maxOutput?: number; retiresAt?: string }> = [];
    try {
      for await (const m of client.models.list({ limit: 100 })) {
        // `lifecycle` is the retirement signal; a retired model's date may be missing, so it retires now.
        const retiresAt = m.lifecycle === 'retired' ? (m.retires_at ?? m.deprecated_at ?? new Date().toISOString()) : m.retires_at;
        listed.push({
          id: m.id,
          displayName: m.display_name,
          ...(m.max_input_tokens ? { contextWindow: m.max_input_tokens } : {}),
          ...(m.max_tokens ? { maxOutput: m.max_tokens } : {}),
          ...(retiresAt ? { retiresAt } : {}),
        });
      }
    } catch (err) {
      throw mapAnthropicError(err);
    }
    return mergeWithCatalogue(NAME, listed);
  }

  healthCheck(credential?: Credential): Promise<HealthResult> {
    return timedHealth(() => this.client(credential).models.list({ limit: 1 }), mapAnthropicError);
  }

  chat(request: ChatRequest): AsyncIterable<ChatEvent> {
    return guardedChat(NAME, this.options.policy, request, (signal) => this.attempt(request, signal), mapAnthropicError);
  }

  private async *attempt(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent | Heartbeat> {
    const client = this.client(request.credential);
    const tools: Tool[] | undefined = request.tools?.map((t) => ({ name: t.name, description: t.description, input_schema: { type: 'object', ...t.parameters } as Tool.InputSchema }));
    const stream = await client.messages.create(
      {
        model: request.model,
        max_tokens: request.maxTokens ?? defaultMaxTokens(NAME, request.model),
        messages: toAnthropicMessages(request.messages, request.model),
        ...(request.system ? { system: request.system } : {}),
        ...(tools?.length ? { tools } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        stream: true,
      },
      { signal },
    );

    const usage: Usage = emptyUsage();
    let model = request.model;
    let stop: StopReason = 'other';
    let stopped = false;
    let toolOrdinal = 0;
    const tools_ = new Map<number, { ordinal: number; id: string; name: string; json: string }>();
    // Signed thinking blocks, rebuilt from their deltas, to hand back with a tool result.
    const reasoning = new Map<number, ThinkingBlockParam | RedactedThinkingBlockParam>();

    for await (const event of stream as AsyncIterable<RawMessageStreamEvent>) {
      switch (event.type) {
        case 'message_start': {
          model = event.message.model || model;
          const u = event.message.usage;
          usage.inputTokens = u.input_tokens ?? 0;
          usage.outputTokens = u.output_tokens ?? 0;
          usage.cacheReadTokens = u.cache_read_input_tokens ?? 0;
          usage.cacheWriteTokens = u.cache_creation_input_tokens ?? 0;
          yield HEARTBEAT;
          break;
        }
        case 'content_block_start': {
          const block = event.content_block;
          if (block.type === 'tool_use') {
            const entry = { ordinal: toolOrdinal++, id: block.id, name: block.name, json: '' };
            tools_.set(event.index, entry);
            yield { type: 'tool_call_delta', index: entry.ordinal, id: block.id, name: block.name, argumentsDelta: '' };
          } else if (block.type === 'text' && block.text) {
            yield { type: 'text', delta: block.text };
          } else if (block.type === 'thinking') {
            reasoning.set(event.index, { type: 'thinking', thinking: block.thinking, signature: block.signature });
            yield block.thinking ? { type: 'thinking', delta: block.thinking } : HEARTBEAT;
          } else if (block.type === 'redacted_thinking') {
            reasoning.set(event.index, { type: 'redacted_thinking', data: block.data });
            yield HEARTBEAT;
          } else {
            yield HEARTBEAT;
          }
          break;
        }
        case 'content_block_delta': {
          const d = event.delta;
          if (d.type === 'text_delta') yield { type: 'text', delta: d.text };
          else if (d.type === 'thinking_delta') {
            const block = reasoning.get(event.index);
            if (block?.type === 'thinking') block.thinking += d.thinking;
            yield { type: 'thinking', delta: d.thinking };
          } else if (d.type === 'signature_delta') {
            const block = reasoning.get(event.index);
            if (block?.type === 'thinking') block.signature += d.signature;
            yield HEARTBEAT;
          }
          else if (d.type === 'input_json_delta') {
            const entry = tools_.get(event.index);
            if (!entry) throw new ProviderError(NAME, 'malformed_stream', `input_json_delta for block ${event.index}, which is not a tool_use block`);
            entry.json += d.partial_json;
            yield { type: 'tool_call_delta', index: entry.ordinal, argumentsDelta: d.partial_json };
          } else yield HEARTBEAT;
          break;
        }
        case 'content_block_stop': {
          const entry = tools_.get(event.index);
          if (entry) {
            yield { type: 'tool_call', call: { id: entry.id, name: entry.name, arguments: parseToolArguments(NAME, entry.name, entry.json) } };
          } else yield HEARTBEAT;
          break;
        }
        case 'message_delta': {
          stop = stopReason(event.delta.stop_reason);
          const u = event.usage;
          if (u.output_tokens !== undefined && u.output_tokens !== null) usage.outputTokens = u.output_tokens;
          if (u.input_tokens !== undefined && u.input_tokens !== null) usage.inputTokens = u.input_tokens;
          if (u.cache_read_input_tokens !== undefined && u.cache_read_input_tokens !== null) usage.cacheReadTokens = u.cache_read_input_tokens;
          if (u.cache_creation_input_tokens !== undefined && u.cache_creation_input_tokens !== null) usage.cacheWriteTokens = u.cache_creation_input_tokens;
          yield HEARTBEAT;
          break;
        }
        case 'message_stop':
          stopped = true;
          break;
        default:
          yield HEARTBEAT;
      }
      if (stopped) break;
    }
    if (!stopped) throw new ProviderError(NAME, 'malformed_stream', 'the stream ended without message_stop');
    const blocks = [...reasoning.entries()].sort(([a], [b]) => a - b).map(([, b]) => b);
    yield { type: 'done', usage, stopReason: stop, model, ...(blocks.length ? { providerState: { provider: NAME, model: request.model, blocks } } : {}) };
  }
}
