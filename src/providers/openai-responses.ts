/**
 * OpenAI's Responses API (POST /v1/responses): the request Mosaic sends, its
 * history mapping, and the streamed events turned into ChatEvents.
 *
 * Why not chat completions: from gpt-5.4 on, OpenAI refuses function tools
 * there unless reasoning is switched off, and several GPT-6 models cannot
 * switch it off at all, so tools only work here.
 *
 * Requests are stateless (`store: false`): nothing is kept at OpenAI between
 * calls. A reasoning model's reasoning therefore comes back encrypted
 * (`include: ['reasoning.encrypted_content']`) and must be handed back with
 * the function call outputs of the same tool loop; it travels as the answer's
 * ProviderState, bound to the model that produced it.
 */
import type OpenAI from 'openai';
import { APIError } from 'openai';
import type {
  FunctionTool,
  ResponseCreateParamsStreaming,
  ResponseInputContent,
  ResponseInputItem,
  ResponseReasoningItem,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { ProviderError } from './errors.ts';
import { streamError, type ErrorKindHook } from './openai-errors.ts';
import { HEARTBEAT, type Heartbeat } from './stream-guard.ts';
import { parseToolArguments } from './base.ts';
import { emptyUsage, type ChatEvent, type ChatMessage, type ChatRequest, type ProviderState, type StopReason, type ToolSpec, type Usage } from './types.ts';

const NAME = 'openai' as const;

/**
 * Models that reason: GPT-5 and later, and the o-series. They get reasoning
 * summaries and encrypted reasoning; older models (gpt-4.1) refuse both.
 */
export function isReasoningModel(model: string): boolean {
  return /^(gpt-(5|6|7|8|9)|o\d)/.test(model);
}

export function toResponsesTools(tools: ToolSpec[] | undefined): FunctionTool[] | undefined {
  if (!tools?.length) return undefined;
  // strict: false — Mosaic's tool schemas have optional fields, which strict mode would refuse.
  return tools.map((t) => ({ type: 'function', name: t.name, description: t.description, parameters: { type: 'object', ...t.parameters }, strict: false }));
}

/**
 * Our history → Responses input items. Within an assistant turn the order is
 * the order OpenAI produced it in: reasoning, text, function calls. Reasoning
 * items are only replayed to the model that produced them; another model
 * cannot decrypt them and the API would refuse the request.
 */
export function toResponsesInput(messages: ChatMessage[], model: string): ResponseInputItem[] {
  const out: ResponseInputItem[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      out.push({ type: 'function_call_output', call_id: m.toolCallId ?? '', output: m.content });
      continue;
    }
    if (m.role === 'assistant') {
      if (m.providerState?.provider === NAME && m.providerState.model === model) out.push(...(m.providerState.blocks as ResponseReasoningItem[]));
      if (m.content) out.push({ type: 'message', role: 'assistant', content: m.content });
      for (const call of m.toolCalls ?? []) out.push({ type: 'function_call', call_id: call.id, name: call.name, arguments: JSON.stringify(call.arguments) });
      continue;
    }
    if (m.images?.length) {
      const parts: ResponseInputContent[] = m.images.map((img) => ({ type: 'input_image', image_url: `data:${img.mimeType};base64,${img.data}`, detail: 'auto' }));
      if (m.content) parts.push({ type: 'input_text', text: m.content });
      out.push({ type: 'message', role: 'user', content: parts });
    } else {
      out.push({ type: 'message', role: 'user', content: m.content });
    }
  }
  return out;
}

export function responsesRequest(request: ChatRequest, options: { summaries?: boolean } = {}): ResponseCreateParamsStreaming {
  const tools = toResponsesTools(request.tools);
  const reasoning = isReasoningModel(request.model);
  const summaries = options.summaries ?? true;
  return {
    model: request.model,
    input: toResponsesInput(request.messages, request.model),
    stream: true,
    store: false,
    ...(request.system ? { instructions: request.system } : {}),
    ...(tools ? { tools } : {}),
    ...(request.maxTokens !== undefined ? { max_output_tokens: request.maxTokens } : {}),
    // Summaries are what reasoning models show of their thinking; encrypted reasoning is what they need back in a tool loop.
    ...(reasoning ? { ...(summaries ? { reasoning: { summary: 'auto' as const } } : {}), include: ['reasoning.encrypted_content' as const] } : {}),
    // No `temperature`, deliberately: GPT-5/6 and the o-series refuse it unless reasoning effort is 'none' (which
    // several GPT-6 models refuse in turn), and the catalogue has no per-model field saying a model accepts it.
    // Dropping it costs an older model a sampling preference; sending it breaks every current one.
  };
}

function toUsage(raw: ResponseUsage | undefined): Usage {
  if (!raw) return emptyUsage();
  const cacheRead = raw.input_tokens_details?.cached_tokens ?? 0;
  const cacheWrite = raw.input_tokens_details?.cache_write_tokens ?? 0;
  // input_tokens counts cached ones too; Mosaic's inputTokens is uncached input only.
  return { inputTokens: Math.max(0, raw.input_tokens - cacheRead - cacheWrite), outputTokens: raw.output_tokens, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite };
}

/** What Mosaic hands back verbatim: the reasoning item as issued, without the display-only fields. */
function replayable(item: ResponseReasoningItem): ResponseReasoningItem {
  return { type: 'reasoning', id: item.id, summary: item.summary, ...(item.encrypted_content ? { encrypted_content: item.encrypted_content } : {}) };
}

interface PendingCall { ordinal: number; callId: string; name: string; args: string; emitted: boolean }

/** One streamed Responses request, as ChatEvents (plus heartbeats for events that carry nothing). */
/**
 * OpenAI lets only verified organisations ask for reasoning summaries; an
 * unverified one gets a 400 for every reasoning request that asks. The
 * summaries are a nicety (the answer does not need them), so that refusal
 * means "ask without", not "fail".
 */
export function refusesSummaries(err: unknown): boolean {
  if (!(err instanceof APIError) || err.status !== 400) return false;
  const param = (err as { param?: string | null }).param;
  return param === 'reasoning.summary' || (/verif/i.test(err.message) && /summar/i.test(err.message));
}

export interface StreamResponseOptions {
  errorKind?: ErrorKindHook;
  /** Ask for reasoning summaries (default true). */
  summaries?: boolean;
  /** Told when OpenAI refused summaries for this account, so later requests stop asking. */
  onSummariesRefused?: () => void;
}

export async function* streamResponse(client: OpenAI, request: ChatRequest, signal: AbortSignal, options: StreamResponseOptions = {}): AsyncGenerator<ChatEvent | Heartbeat> {
  const { errorKind } = options;
  const summaries = options.summaries ?? true;
  let stream: AsyncIterable<ResponseStreamEvent>;
  try {
    stream = await client.responses.create(responsesRequest(request, { summaries }), { signal });
  } catch (err) {
    if (!summaries || !refusesSummaries(err)) throw err;
    options.onSummariesRefused?.();
    stream = await client.responses.create(responsesRequest(request, { summaries: false }), { signal });
  }
  let model = request.model;
  const calls = new Map<number, PendingCall>();
  const reasoning = new Map<number, ResponseReasoningItem>();
  let refused = false;

  const complete = (call: PendingCall, args: string): ChatEvent => {
    call.args = args;
    call.emitted = true;
    return { type: 'tool_call', call: { id: call.callId, name: call.name, arguments: parseToolArguments(NAME, call.name, args) } };
  };
  const finish = (usage: Usage, stopReason: StopReason): ChatEvent => {
    const blocks = [...reasoning.entries()].sort(([a], [b]) => a - b).map(([, item]) => replayable(item));
    const state: ProviderState | undefined = blocks.length ? { provider: NAME, model: request.model, blocks } : undefined;
    return { type: 'done', usage, stopReason, model, ...(state ? { providerState: state } : {}) };
  };

  for await (const event of stream as AsyncIterable<ResponseStreamEvent>) {
    switch (event.type) {
      case 'response.created':
      case 'response.in_progress':
        model = event.response.model || model;
        yield HEARTBEAT;
        break;
      case 'response.output_item.added': {
        const item = event.item;
        if (item.type === 'function_call') {
          const call: PendingCall = { ordinal: calls.size, callId: item.call_id, name: item.name, args: '', emitted: false };
          calls.set(event.output_index, call);
          yield { type: 'tool_call_delta', index: call.ordinal, id: call.callId, name: call.name, argumentsDelta: '' };
        } else yield HEARTBEAT;
        break;
      }
      case 'response.function_call_arguments.delta': {
        const call = calls.get(event.output_index);
        if (!call) throw new ProviderError(NAME, 'malformed_stream', `function call arguments for output ${event.output_index}, which is not a function call`);
        call.args += event.delta;
        yield { type: 'tool_call_delta', index: call.ordinal, argumentsDelta: event.delta };
        break;
      }
      case 'response.function_call_arguments.done': {
        const call = calls.get(event.output_index);
        if (!call) throw new ProviderError(NAME, 'malformed_stream', `function call arguments for output ${event.output_index}, which is not a function call`);
        yield complete(call, event.arguments);
        break;
      }
      case 'response.output_item.done': {
        const item = event.item;
        if (item.type === 'reasoning') reasoning.set(event.output_index, item);
        const call = calls.get(event.output_index);
        if (item.type === 'function_call' && call && !call.emitted) yield complete(call, item.arguments);
        else yield HEARTBEAT;
        break;
      }
      case 'response.output_text.delta':
        yield { type: 'text', delta: event.delta };
        break;
      case 'response.refusal.delta':
        // A refusal is what the person reads as the answer.
        refused = true;
        yield { type: 'text', delta: event.delta };
        break;
      case 'response.reasoning_summary_text.delta':
        yield { type: 'thinking', delta: event.delta };
        break;
      case 'response.reasoning_summary_part.added':
        // Separate summary sections as paragraphs.
        yield event.summary_index > 0 ? { type: 'thinking', delta: '\n\n' } : HEARTBEAT;
        break;
      case 'response.completed': {
        const response = event.response;
        model = response.model || model;
        for (const [index, item] of response.output.entries()) if (item.type === 'reasoning' && !reasoning.has(index)) reasoning.set(index, item);
        for (const call of calls.values()) if (!call.emitted) yield complete(call, call.args);
        yield finish(toUsage(response.usage), calls.size ? 'tool_use' : refused ? 'content_filter' : 'end');
        return;
      }
      case 'response.incomplete': {
        const response = event.response;
        model = response.model || model;
        const reason = response.incomplete_details?.reason;
        yield finish(toUsage(response.usage), reason === 'max_output_tokens' ? 'max_tokens' : reason === 'content_filter' ? 'content_filter' : 'other');
        return;
      }
      case 'response.failed':
        throw streamError(NAME, event.response.error ?? { message: 'the response failed without saying why' }, errorKind);
      case 'error':
        throw streamError(NAME, event, errorKind);
      default:
        yield HEARTBEAT;
    }
  }
  throw new ProviderError(NAME, 'malformed_stream', 'the stream ended without response.completed');
}
