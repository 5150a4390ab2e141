/**
 * Anthropic's Messages API: POST /v1/messages with its SSE event sequence
 * (message_start, content_block_start/delta/stop with text, thinking and
 * input_json deltas, message_delta with usage, message_stop, pings, error
 * events) and GET /v1/models. Frames are typed with @anthropic-ai/sdk's own
 * types.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Message, MessageCreateParams, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages/messages';
import type { ModelInfo } from '@anthropic-ai/sdk/resources/models';
import type { ErrorResponse, ErrorType } from '@anthropic-ai/sdk/resources/shared';
import { SimulatorCore, bearer, buildPlan, sendJson, type HandlerContext, type Plan, type Route, type SimErrorKind, type SimulatorOptions, type Step } from './common.ts';

const model = (id: string, display: string, context: number, maxTokens: number, created: string, retires?: { deprecated: string; retires: string }): ModelInfo => ({
  id,
  type: 'model',
  display_name: display,
  created_at: created,
  capabilities: null,
  deprecated_at: retires?.deprecated ?? null,
  lifecycle: retires ? 'deprecated' : 'active',
  line: null,
  max_input_tokens: context,
  max_tokens: maxTokens,
  retires_at: retires?.retires ?? null,
});

export const ANTHROPIC_MODELS: ModelInfo[] = [
  model('claude-opus-5-5', 'Claude Opus 5.5', 1_000_000, 128_000, '2026-09-22T00:00:00Z'),
  model('claude-sonnet-5-5', 'Claude Sonnet 5.5', 1_000_000, 128_000, '2026-09-22T00:00:00Z'),
  model('claude-haiku-5-5', 'Claude Haiku 5.5', 1_000_000, 128_000, '2026-10-07T00:00:00Z'),
  model('claude-opus-4-5-20251101', 'Claude Opus 4.5', 200_000, 64_000, '2025-11-24T00:00:00Z', { deprecated: '2026-07-24T00:00:00Z', retires: '2027-01-22T00:00:00Z' }),
  model('claude-sonnet-4-5-20250929', 'Claude Sonnet 4.5', 200_000, 64_000, '2025-09-29T00:00:00Z', { deprecated: '2026-05-30T00:00:00Z', retires: '2026-11-30T00:00:00Z' }),
  model('claude-haiku-4-5-20251001', 'Claude Haiku 4.5', 200_000, 64_000, '2025-10-15T00:00:00Z'),
  model('claude-sim-experimental', 'Claude Simulated Experimental', 100_000, 8192, '2026-01-01T00:00:00Z'),
];

/**
 * Models that always think (Opus 5.5, Fable 5.x): every answer starts with a
 * signed thinking block, `thinking` cannot be disabled or given a manual
 * budget, forced tool use is refused, and a tool result is refused unless its
 * assistant turn still starts with the thinking block this model signed.
 */
export const ALWAYS_THINKING = new Set(['claude-opus-5-5', 'claude-fable-5-1', 'claude-fable-5-2']);

function errorSpec(kind: SimErrorKind): { status: number; type: ErrorType; message: string } {
  switch (kind) {
    case 'auth':
      return { status: 401, type: 'authentication_error', message: 'invalid x-api-key' };
    case 'rate_limit':
      return { status: 429, type: 'rate_limit_error', message: 'This request would exceed the rate limit for your organization of 50 requests per minute.' };
    case 'server':
      return { status: 500, type: 'api_error', message: 'Internal server error' };
    case 'overloaded':
      return { status: 529, type: 'overloaded_error', message: 'Overloaded' };
    case 'context_length':
      return { status: 400, type: 'invalid_request_error', message: 'prompt is too long: 208310 tokens > 200000 maximum' };
    case 'bad_request':
      return { status: 400, type: 'invalid_request_error', message: 'max_tokens: Field required' };
    case 'not_found':
      return { status: 404, type: 'not_found_error', message: 'Not found' };
  }
}

const errorBody = (type: ErrorType, message: string): ErrorResponse => ({ type: 'error', error: { type, message } as ErrorResponse['error'], request_id: `req_sim${Date.now()}` });

const sse = (event: RawMessageStreamEvent | { type: 'ping' } | ErrorResponse): string => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

export class AnthropicSimulator extends SimulatorCore {
  protected readonly prefix = '/v1';

  constructor(options: SimulatorOptions = {}) {
    super(options);
  }

  /** ANTHROPIC_BASE_URL for this simulator: the SDK adds /v1 itself. */
  override get configBaseUrl(): string {
    return this.origin;
  }

  protected requestKey(req: IncomingMessage): string | undefined {
    // Older SDKs send `x-api-key`; this one sends `Authorization: Bearer <key>`. The API takes both.
    const key = req.headers['x-api-key'];
    return typeof key === 'string' ? key : bearer(req);
  }

  writeError(res: ServerResponse, kind: SimErrorKind, step: Step): void {
    const spec = errorSpec(kind);
    const headers: Record<string, string> = { 'request-id': `req_sim${Date.now()}` };
    if (kind === 'rate_limit' && step.retryAfterSeconds !== undefined) headers['retry-after'] = String(step.retryAfterSeconds);
    sendJson(res, spec.status, errorBody(spec.type, spec.message), headers);
  }

  protected routes(): Route[] {
    return [
      { method: 'POST', path: '/messages', kind: 'chat', handle: (ctx) => this.messages(ctx) },
      {
        method: 'GET',
        path: '/models',
        kind: 'models',
        handle: async ({ res }) => sendJson(res, 200, { data: ANTHROPIC_MODELS, first_id: ANTHROPIC_MODELS[0]!.id, last_id: ANTHROPIC_MODELS.at(-1)!.id, has_more: false }),
      },
    ];
  }

  /** Signatures this simulator issued, and for which model: a thinking block is only valid with the model that signed it. */
  private readonly signatures = new Map<string, string>();

  private sign(modelId: string): string {
    const signature = Buffer.from(`sim-signature:${modelId}:${randomUUID()}`).toString('base64');
    this.signatures.set(signature, modelId);
    return signature;
  }

  private validateThinking(params: MessageCreateParams): string | null {
    const thinking = (params as { thinking?: { type?: string } }).thinking;
    if (thinking?.type === 'disabled' || thinking?.type === 'enabled') {
      return `"thinking.type.${thinking.type}" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.`;
    }
    const choice = (params as { tool_choice?: { type?: string } }).tool_choice?.type;
    if (choice === 'any' || choice === 'tool') return 'tool_choice: forced tool use is not supported for this model; use "auto" or "none".';
    for (let i = 0; i < params.messages.length; i++) {
      const m = params.messages[i]!;
      if (m.role !== 'assistant' || !Array.isArray(m.content)) continue;
      for (const [j, b] of m.content.entries()) {
        if (b.type === 'thinking' && this.signatures.get(b.signature) !== params.model) return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      }
    }
    const lastAssistant = params.messages.findLastIndex((m) => m.role === 'assistant');
    const last = params.messages[lastAssistant];
    if (last && Array.isArray(last.content) && last.content.some((b) => b.type === 'tool_use')) {
      const first = last.content[0]!;
      if (first.type !== 'thinking' && first.type !== 'redacted_thinking') {
        return `messages.${lastAssistant}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks).`;
      }
    }
    return null;
  }

  private validate(params: MessageCreateParams): string | null {
    if (typeof params.max_tokens !== 'number') return 'max_tokens: Field required';
    if (!params.model) return 'model: Field required';
    if (!Array.isArray(params.messages) || params.messages.length === 0) return 'messages: at least one message is required';
    if (ALWAYS_THINKING.has(params.model)) {
      const problem = this.validateThinking(params);
      if (problem) return problem;
    }
    for (let i = 0; i < params.messages.length; i++) {
      const m = params.messages[i]!;
      if (!Array.isArray(m.content)) continue;
      const prev = params.messages[i - 1];
      const prevIds = new Set(
        prev && Array.isArray(prev.content) ? prev.content.filter((b) => b.type === 'tool_use').map((b) => (b as { id: string }).id) : [],
      );
      for (const [j, b] of m.content.entries()) {
        if (b.type === 'tool_result' && !prevIds.has(b.tool_use_id)) {
          return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
        }
      }
    }
    return null;
  }

  private async messages({ res, body, step }: HandlerContext): Promise<void> {
    const params = body as MessageCreateParams;
    const invalid = this.validate(params);
    if (invalid) {
      sendJson(res, 400, errorBody('invalid_request_error', invalid));
      return;
    }
    const plan = buildPlan(step, params.model, params.messages, { system: params.system, messages: params.messages });
    if (ALWAYS_THINKING.has(params.model)) {
      // At the default display ("omitted") the thinking text comes back empty; only "summarized" shows it.
      const display = (params as { thinking?: { display?: string } }).thinking?.display;
      plan.thinking = display === 'summarized' ? (plan.thinking ?? '') : '';
      plan.signature = this.sign(params.model);
    }
    if (!params.stream) {
      sendJson(res, 200, this.message(plan));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_sim${Date.now()}` });
    await this.writeFrames(res, this.frames(plan), {
      step,
      garbage: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tru\n\n',
      midStreamError: (kind) => {
        const spec = errorSpec(kind === 'overloaded' ? 'overloaded' : 'server');
        return sse(errorBody(spec.type, spec.message));
      },
    });
  }

  private stopReason(plan: Plan): Message['stop_reason'] {
    return (plan.finishReason as Message['stop_reason']) ?? (plan.toolCall ? 'tool_use' : 'end_turn');
  }

  private skeleton(plan: Plan): Message {
    return {
      id: `msg_sim${Date.now()}`,
      type: 'message',
      role: 'assistant',
      model: plan.model,
      content: [],
      container: null,
      diagnostics: null,
      stop_details: null,
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: plan.usage.input,
        output_tokens: 1,
        cache_creation_input_tokens: plan.usage.cacheWrite,
        cache_read_input_tokens: plan.usage.cacheRead,
        cache_creation: null,
        inference_geo: null,
        output_tokens_details: null,
        server_tool_use: null,
        service_tier: 'standard',
        speed: null,
      },
    };
  }

  /** The SSE frames of one streamed answer. */
  frames(plan: Plan): string[] {
    const out: string[] = [sse({ type: 'message_start', message: this.skeleton(plan) }), sse({ type: 'ping' })];
    let index = 0;
    if (plan.thinking !== undefined) {
      out.push(sse({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      for (const piece of plan.thinking.match(/.{1,12}/gs) ?? []) out.push(sse({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } }));
      // Signatures stream in pieces too; the client must put them back together.
      const signature = plan.signature ?? 'c2ltdWxhdGVk';
      for (const piece of signature.match(/.{1,16}/gs) ?? []) out.push(sse({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: piece } }));
      out.push(sse({ type: 'content_block_stop', index }));
      index++;
    }
    if (plan.textChunks.length) {
      out.push(sse({ type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } }));
      for (const piece of plan.textChunks) out.push(sse({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }));
      out.push(sse({ type: 'content_block_stop', index }));
      index++;
    }
    if (plan.toolCall) {
      const tc = plan.toolCall;
      out.push(sse({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: tc.id.replace(/^call_/, 'toolu_'), name: tc.name, input: {}, caller: { type: 'direct' } } }));
      for (const piece of tc.argChunks) out.push(sse({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }));
      out.push(sse({ type: 'content_block_stop', index }));
    }
    out.push(
      sse({
        type: 'message_delta',
        delta: { stop_reason: this.stopReason(plan), stop_sequence: null, container: null, stop_details: null },
        usage: {
          output_tokens: plan.usage.output,
          input_tokens: plan.usage.input,
          cache_creation_input_tokens: plan.usage.cacheWrite,
          cache_read_input_tokens: plan.usage.cacheRead,
          output_tokens_details: null,
          server_tool_use: null,
        },
      }),
    );
    out.push(sse({ type: 'message_stop' }));
    return out;
  }

  private message(plan: Plan): Message {
    const msg = this.skeleton(plan);
    if (plan.thinking !== undefined) msg.content.push({ type: 'thinking', thinking: plan.thinking, signature: plan.signature ?? 'c2ltdWxhdGVk' });
    const text = plan.textChunks.join('');
    if (text) msg.content.push({ type: 'text', text, citations: null });
    if (plan.toolCall) msg.content.push({ type: 'tool_use', id: plan.toolCall.id.replace(/^call_/, 'toolu_'), name: plan.toolCall.name, input: plan.toolCall.arguments, caller: { type: 'direct' } });
    msg.stop_reason = this.stopReason(plan);
    msg.usage.output_tokens = plan.usage.output;
    return msg;
  }
}
