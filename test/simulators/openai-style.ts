/**
 * The chat-completions family: OpenAI (`/v1`), OpenRouter (`/api/v1`) and
 * Z.ai (`/api/paas/v4`). OpenAI also answers its Responses API
 * (openai-responses.ts). Frames are typed with the `openai` SDK's own types,
 * so the simulator cannot drift from what the SDK parses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams } from 'openai/resources/chat/completions/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { Model } from 'openai/resources/models';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from 'openai/resources/embeddings';
import { ResponsesEndpoint } from './openai-responses.ts';
import { SimulatorCore, bearer, buildPlan, fakeEmbedding, nowSeconds, sendJson, type HandlerContext, type Plan, type Route, type SimErrorKind, type SimulatorOptions, type Step } from './common.ts';

export type OpenAIStyleFlavor = 'openai' | 'openrouter' | 'zai';

const PREFIX: Record<OpenAIStyleFlavor, string> = { openai: '/v1', openrouter: '/api/v1', zai: '/api/paas/v4' };

/** A chunk as these providers send it: the SDK's type plus their extra fields. */
type Delta = ChatCompletionChunk.Choice.Delta & { reasoning?: string | null; reasoning_content?: string | null };
type Choice = Omit<ChatCompletionChunk.Choice, 'delta' | 'finish_reason'> & { delta: Delta; finish_reason: ChatCompletionChunk.Choice['finish_reason'] | 'sensitive' | 'error' | (string & {}) };
type CompatChunk = Omit<ChatCompletionChunk, 'choices'> & { choices: Choice[]; provider?: string; error?: { code: number | string; message: string } };

/** OpenRouter's /models item (fields from its API reference). */
export interface OpenRouterModel {
  id: string;
  canonical_slug: string;
  name: string;
  created: number;
  description: string;
  context_length: number;
  architecture: { modality: string; input_modalities: string[]; output_modalities: string[]; tokenizer: string; instruct_type: string | null };
  pricing: { prompt: string; completion: string; request?: string; image?: string; input_cache_read?: string; input_cache_write?: string };
  top_provider: { context_length: number | null; max_completion_tokens: number | null; is_moderated: boolean };
  per_request_limits: null;
  supported_parameters: string[];
}

/** OpenAI's API reference lists `shutdown_date` on model objects; the SDK's `Model` type does not have it yet. */
type OpenAIModel = Model & { shutdown_date?: string | null };

const OPENAI_MODELS: OpenAIModel[] = [
  { id: 'gpt-6.2-sol', object: 'model', created: 1794873600, owned_by: 'system', shutdown_date: null },
  { id: 'gpt-6.1-sol', object: 'model', created: 1790640000, owned_by: 'system', shutdown_date: null },
  { id: 'gpt-6-sol', object: 'model', created: 1789344000, owned_by: 'system', shutdown_date: null },
  { id: 'gpt-6-luna', object: 'model', created: 1789344000, owned_by: 'system', shutdown_date: null },
  { id: 'gpt-5', object: 'model', created: 1754425777, owned_by: 'system', shutdown_date: '2026-12-11' },
  { id: 'gpt-5-mini', object: 'model', created: 1754425928, owned_by: 'system', shutdown_date: '2026-12-11' },
  { id: 'gpt-4.1', object: 'model', created: 1744316542, owned_by: 'system', shutdown_date: '2027-01-14' },
  { id: 'o3', object: 'model', created: 1744225308, owned_by: 'system', shutdown_date: '2026-12-11' },
  { id: 'text-embedding-3-small', object: 'model', created: 1705948997, owned_by: 'system' },
  { id: 'gpt-sim-experimental', object: 'model', created: 1760000000, owned_by: 'simulator', shutdown_date: '2027-03-01' },
];

const orModel = (id: string, name: string, context: number, maxOut: number, prompt: string, completion: string, inputs: string[], tools: boolean): OpenRouterModel => ({
  id,
  canonical_slug: id,
  name,
  created: 1758000000,
  description: `${name} (simulated)`,
  context_length: context,
  architecture: { modality: inputs.includes('image') ? 'text+image->text' : 'text->text', input_modalities: inputs, output_modalities: ['text'], tokenizer: 'Other', instruct_type: null },
  pricing: { prompt, completion, request: '0', image: '0' },
  top_provider: { context_length: context, max_completion_tokens: maxOut, is_moderated: false },
  per_request_limits: null,
  supported_parameters: tools ? ['max_tokens', 'temperature', 'tools', 'tool_choice', 'reasoning'] : ['max_tokens', 'temperature'],
});

const OPENROUTER_MODELS: OpenRouterModel[] = [
  orModel('anthropic/claude-sonnet-5.5', 'Anthropic: Claude Sonnet 5.5', 1_000_000, 128_000, '0.000002', '0.00001', ['text', 'image', 'file'], true),
  orModel('anthropic/claude-sonnet-4.5', 'Anthropic: Claude Sonnet 4.5', 1_000_000, 64_000, '0.000003', '0.000015', ['text', 'image', 'file'], true),
  orModel('openai/gpt-5-mini', 'OpenAI: GPT-5 Mini', 400_000, 128_000, '0.00000025', '0.000002', ['text', 'image'], true),
  orModel('mistralai/mistral-small-sim', 'Mistral: Small (simulated, unknown to the catalogue)', 32_768, 8192, '0.0000001', '0.0000003', ['text'], false),
];

const ZAI_MODELS: Model[] = [
  { id: 'glm-5.3', object: 'model', created: 1786000000, owned_by: 'z-ai' },
  { id: 'glm-5', object: 'model', created: 1770000000, owned_by: 'z-ai' },
  { id: 'glm-4.6', object: 'model', created: 1759000000, owned_by: 'z-ai' },
  { id: 'glm-4.5-air', object: 'model', created: 1753000000, owned_by: 'z-ai' },
  { id: 'glm-sim-experimental', object: 'model', created: 1770000000, owned_by: 'z-ai' },
];

interface ErrorSpec { status: number; body: unknown }

function openaiError(kind: SimErrorKind, model: string): ErrorSpec {
  const e = (status: number, message: string, type: string, code: string | null, param: string | null = null): ErrorSpec => ({ status, body: { error: { message, type, param, code } } });
  switch (kind) {
    case 'auth':
      return e(401, 'Incorrect API key provided: sk-sim***. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
    case 'rate_limit':
      return e(429, `Rate limit reached for ${model} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.`, 'requests', 'rate_limit_exceeded');
    case 'server':
      return e(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
    case 'overloaded':
      return e(503, 'The engine is currently overloaded, please try again later.', 'server_error', null);
    case 'context_length':
      return e(400, "This model's maximum context length is 128000 tokens. However, your messages resulted in 130021 tokens. Please reduce the length of the messages.", 'invalid_request_error', 'context_length_exceeded', 'messages');
    case 'bad_request':
      return e(400, "Invalid value for 'temperature': must be between 0 and 2.", 'invalid_request_error', 'invalid_value', 'temperature');
    case 'not_found':
      return e(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
  }
}

function openrouterError(kind: SimErrorKind, model: string): ErrorSpec {
  const e = (status: number, message: string, metadata?: Record<string, unknown>): ErrorSpec => ({ status, body: { error: { code: status, message, ...(metadata ? { metadata } : {}) }, user_id: 'user_sim' } });
  switch (kind) {
    case 'auth':
      return e(401, 'No auth credentials found');
    case 'rate_limit':
      return e(429, 'Rate limit exceeded: free-models-per-min.', { headers: { 'X-RateLimit-Limit': '20', 'X-RateLimit-Remaining': '0' } });
    case 'server':
      return e(500, 'Internal Server Error');
    case 'overloaded':
      return e(502, 'Provider returned error', { provider_name: 'Simulated', raw: '{"type":"overloaded_error"}' });
    case 'context_length':
      return e(400, `This endpoint's maximum context length is 200000 tokens. However, you requested about 250112 tokens (250112 of text input). Please reduce the length of either one, or use the "middle-out" transform to compress your prompt automatically.`);
    case 'bad_request':
      return e(400, `${model} is not a valid model ID`);
    case 'not_found':
      return e(404, 'Not Found');
  }
}

function zaiError(kind: SimErrorKind, model: string): ErrorSpec {
  const e = (status: number, code: string, message: string): ErrorSpec => ({ status, body: { error: { code, message } } });
  switch (kind) {
    case 'auth':
      return e(401, '1002', 'Authorization Token is invalid.');
    case 'rate_limit':
      return e(429, '1302', 'High concurrency usage of this API, please reduce concurrency or contact customer service to increase limits.');
    case 'server':
      return e(500, '500', 'Internal Error');
    case 'overloaded':
      return e(429, '1305', 'The service may be temporarily overloaded, please try again later.');
    case 'context_length':
      return e(400, '1261', 'Prompt exceeds max length');
    case 'bad_request':
      return e(400, '1214', 'Invalid parameter: temperature.');
    case 'not_found':
      return e(404, '1211', `Unknown Model, please check the model code: ${model}.`);
  }
}

/** gpt-5.4 and later, and every GPT-6: function tools need the Responses API unless reasoning is off. */
const TOOLS_NEED_RESPONSES = /^gpt-(5\.([4-9]|\d{2,})|[6-9])/;
/** GPT-6 models that cannot switch reasoning off at all. */
const NO_EFFORT_NONE = /^gpt-(6-astra|6\.1-sol|6\.2-sol|6\.2-astra)/;

/** What OpenAI's chat completions refuses for its newer reasoning models. */
function chatCompletionsReasoningProblem(params: ChatCompletionCreateParams): string | null {
  const effort = params.reasoning_effort ?? 'medium';
  if (effort === 'none' && NO_EFFORT_NONE.test(params.model)) return `Unsupported value: 'reasoning_effort' does not support 'none' with this model. Supported values are: 'low', 'medium', 'high', 'xhigh' and 'max'.`;
  if (params.tools?.some((t) => t.type === 'function') && effort !== 'none' && TOOLS_NEED_RESPONSES.test(params.model)) {
    return `Function tools with reasoning_effort are not supported for ${params.model} in /v1/chat/completions. Please use /v1/responses instead, or set reasoning_effort to 'none'.`;
  }
  return null;
}

export class OpenAIStyleSimulator extends SimulatorCore {
  protected readonly prefix: string;

  constructor(readonly flavor: OpenAIStyleFlavor, options: SimulatorOptions = {}) {
    super(options);
    this.prefix = PREFIX[flavor];
  }

  protected requestKey(req: IncomingMessage): string | undefined {
    return bearer(req);
  }

  writeError(res: ServerResponse, kind: SimErrorKind, step: Step): void {
    const model = 'the-model';
    const spec = this.flavor === 'openai' ? openaiError(kind, model) : this.flavor === 'openrouter' ? openrouterError(kind, model) : zaiError(kind, model);
    const headers: Record<string, string> = { 'x-request-id': `req_sim_${Date.now()}` };
    if (kind === 'rate_limit' && step.retryAfterSeconds !== undefined) headers['retry-after'] = String(step.retryAfterSeconds);
    sendJson(res, spec.status, spec.body, headers);
  }

  /** OpenAI only: the Responses API, with the state it needs to check replayed reasoning. */
  readonly responses = new ResponsesEndpoint();

  protected routes(): Route[] {
    const routes: Route[] = [
      { method: 'POST', path: '/chat/completions', kind: 'chat', handle: (ctx) => this.chat(ctx) },
      { method: 'GET', path: '/models', kind: 'models', handle: async ({ res }) => this.models(res) },
    ];
    if (this.flavor === 'openai') routes.push({ method: 'POST', path: '/responses', kind: 'chat', handle: (ctx) => this.responses.handle(ctx) });
    if (this.flavor !== 'openrouter') routes.push({ method: 'POST', path: '/embeddings', kind: 'embed', handle: async (ctx) => this.embeddings(ctx) });
    return routes;
  }

  private models(res: ServerResponse): void {
    if (this.flavor === 'openrouter') sendJson(res, 200, { data: OPENROUTER_MODELS });
    else sendJson(res, 200, { object: 'list', data: this.flavor === 'openai' ? OPENAI_MODELS : ZAI_MODELS });
  }

  private embeddings({ res, body }: HandlerContext): void {
    const params = body as EmbeddingCreateParams;
    const inputs = Array.isArray(params.input) ? (params.input as unknown[]).map(String) : [String(params.input)];
    const dims = params.dimensions ?? this.options.embeddingDimensions ?? 256;
    const vectors = inputs.map((t) => fakeEmbedding(t, dims));
    const response: CreateEmbeddingResponse = {
      object: 'list',
      model: params.model,
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: v })),
      usage: { prompt_tokens: inputs.join(' ').length, total_tokens: inputs.join(' ').length },
    };
    if (params.encoding_format === 'base64') {
      sendJson(res, 200, { ...response, data: response.data.map((d) => ({ ...d, embedding: Buffer.from(new Float32Array(d.embedding).buffer).toString('base64') })) });
      return;
    }
    sendJson(res, 200, response);
  }

  private validate(params: ChatCompletionCreateParams): string | null {
    if (!params.model) return "you must provide a model parameter";
    if (!Array.isArray(params.messages) || params.messages.length === 0) return "'messages' must contain at least one message";
    if (this.flavor === 'openai') {
      const problem = chatCompletionsReasoningProblem(params);
      if (problem) return problem;
    }
    const open = new Set<string>();
    for (const m of params.messages) {
      if (m.role === 'assistant' && m.tool_calls) for (const c of m.tool_calls) open.add(c.id);
      if (m.role === 'tool') {
        if (!open.has(m.tool_call_id)) return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
      }
    }
    return null;
  }

  private async chat({ res, body, step }: HandlerContext): Promise<void> {
    const params = body as ChatCompletionCreateParams & { tool_stream?: boolean };
    const invalid = this.validate(params);
    if (invalid) {
      const spec = this.flavor === 'openai' ? openaiError('bad_request', params.model) : this.flavor === 'openrouter' ? openrouterError('bad_request', params.model) : zaiError('bad_request', params.model);
      const b = spec.body as { error: { message: string } };
      b.error.message = invalid;
      sendJson(res, 400, b);
      return;
    }
    const plan = buildPlan(step, params.model, params.messages, params.messages);
    if (!params.stream) {
      sendJson(res, 200, this.completion(plan));
      return;
    }
    const includeUsage = this.flavor === 'zai' || params.stream_options?.include_usage === true;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const frames = this.frames(plan, includeUsage, params.tool_stream === true);
    await this.writeFrames(res, frames, {
      step,
      garbage: 'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":"tru\n\n',
      midStreamError: (kind) => {
        const spec = (this.flavor === 'openai' ? openaiError : this.flavor === 'openrouter' ? openrouterError : zaiError)(kind === 'overloaded' ? 'overloaded' : 'server', plan.model);
        const err = (spec.body as { error: object }).error;
        if (this.flavor === 'openrouter') {
          const chunk: CompatChunk = { ...this.base(plan), error: err as { code: number; message: string }, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] };
          return `data: ${JSON.stringify(chunk)}\n\n`;
        }
        return `data: ${JSON.stringify({ error: err })}\n\n`;
      },
    });
  }

  private base(plan: Plan): Omit<CompatChunk, 'choices'> {
    return {
      id: `chatcmpl-sim${nowSeconds()}`,
      object: 'chat.completion.chunk',
      created: nowSeconds(),
      model: plan.model,
      ...(this.flavor === 'openrouter' ? { provider: 'Simulated' } : { system_fingerprint: 'fp_sim' }),
    };
  }

  private usage(plan: Plan): CompletionUsage & { prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } } {
    const prompt = plan.usage.input + plan.usage.cacheRead + plan.usage.cacheWrite;
    return {
      prompt_tokens: prompt,
      completion_tokens: plan.usage.output,
      total_tokens: prompt + plan.usage.output,
      prompt_tokens_details: { cached_tokens: plan.usage.cacheRead, ...(this.flavor === 'openrouter' && plan.usage.cacheWrite ? { cache_write_tokens: plan.usage.cacheWrite } : {}) },
    };
  }

  /** The SSE frames of one streamed answer, in this flavour's shape. */
  frames(plan: Plan, includeUsage: boolean, toolStream: boolean): string[] {
    const base = this.base(plan);
    const frame = (choices: Choice[], extra: Partial<CompatChunk> = {}): string => {
      const chunk: CompatChunk = { ...base, choices, ...extra };
      return `data: ${JSON.stringify(chunk)}\n\n`;
    };
    const delta = (d: Delta, finish: Choice['finish_reason'] = null): Choice => ({ index: 0, delta: d, finish_reason: finish, logprobs: null });
    const out: string[] = [];
    if (this.flavor === 'openrouter') out.push(': OPENROUTER PROCESSING\n\n');
    out.push(frame([delta({ role: 'assistant', content: '' })]));
    if (plan.thinking && this.flavor !== 'openai') {
      for (const piece of plan.thinking.match(/.{1,12}/gs) ?? []) {
        out.push(frame([delta(this.flavor === 'zai' ? { reasoning_content: piece } : { reasoning: piece, content: '' })]));
      }
    }
    for (const piece of plan.textChunks) out.push(frame([delta({ content: piece })]));
    if (plan.toolCall) {
      const tc = plan.toolCall;
      if (this.flavor === 'zai' && !toolStream) {
        out.push(frame([delta({ tool_calls: [{ index: 0, id: tc.id, type: 'function', function: { name: tc.name, arguments: JSON.stringify(tc.arguments) } }] })]));
      } else {
        out.push(frame([delta({ tool_calls: [{ index: 0, id: tc.id, type: 'function', function: { name: tc.name, arguments: '' } }] })]));
        for (const piece of tc.argChunks) out.push(frame([delta({ tool_calls: [{ index: 0, function: { arguments: piece } }] })]));
      }
    }
    const finish = plan.finishReason ?? (plan.toolCall ? 'tool_calls' : 'stop');
    if (this.flavor === 'zai') {
      out.push(frame([delta({}, finish)], { usage: this.usage(plan) }));
    } else {
      out.push(frame([delta({}, finish)]));
      if (includeUsage) out.push(frame([], { usage: this.usage(plan) }));
    }
    out.push('data: [DONE]\n\n');
    return out;
  }

  private completion(plan: Plan): ChatCompletion {
    const text = plan.textChunks.join('');
    return {
      id: `chatcmpl-sim${nowSeconds()}`,
      object: 'chat.completion',
      created: nowSeconds(),
      model: plan.model,
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: plan.toolCall ? 'tool_calls' : 'stop',
          message: {
            role: 'assistant',
            content: text || null,
            refusal: null,
            ...(plan.toolCall ? { tool_calls: [{ id: plan.toolCall.id, type: 'function' as const, function: { name: plan.toolCall.name, arguments: JSON.stringify(plan.toolCall.arguments) } }] } : {}),
          },
        },
      ],
      usage: this.usage(plan),
    };
  }
}
