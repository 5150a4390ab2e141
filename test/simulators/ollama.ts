/**
 * Ollama's native API: POST /api/chat (NDJSON stream), GET /api/tags,
 * POST /api/embed, GET /api/version. Lines are typed with the `ollama`
 * client's own types (dates as the ISO strings they are on the wire).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ListResponse, ModelResponse } from 'ollama';
import { SimulatorCore, bearer, buildPlan, fakeEmbedding, sendJson, type HandlerContext, type Plan, type Route, type SimErrorKind, type SimulatorOptions, type Step } from './common.ts';

/** A type as it is on the wire: Dates are ISO strings. */
type Wire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };
type WireChat = Wire<ChatResponse>;
/** /api/tags items carry no expires_at or size_vram (those are /api/ps fields). */
type TagModel = Wire<Omit<ModelResponse, 'expires_at' | 'size_vram'>>;

const tag = (name: string, family: string, families: string[], size: string): TagModel => ({
  name,
  model: name,
  modified_at: '2025-10-01T12:00:00.000000000Z',
  size: 2_019_393_189,
  digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
  details: { parent_model: '', format: 'gguf', family, families, parameter_size: size, quantization_level: 'Q4_K_M' },
});

export const OLLAMA_TAGS: TagModel[] = [
  tag('llama3.2:latest', 'llama', ['llama'], '3.2B'),
  tag('qwen2.5-coder:7b', 'qwen2', ['qwen2'], '7.6B'),
  tag('llava:latest', 'llama', ['llama', 'clip'], '7B'),
  tag('nomic-embed-text:latest', 'nomic-bert', ['nomic-bert'], '137M'),
  tag('phi-sim:latest', 'phi3', ['phi3'], '3.8B'),
];

function errorSpec(kind: SimErrorKind, model: string): { status: number; message: string } {
  switch (kind) {
    case 'auth':
      return { status: 401, message: 'unauthorized' };
    case 'rate_limit':
      return { status: 429, message: 'too many requests' };
    case 'server':
      return { status: 500, message: 'llama runner process has terminated: exit status 2' };
    case 'overloaded':
      return { status: 503, message: 'server busy, please try again.  maximum pending requests exceeded' };
    case 'context_length':
      return { status: 400, message: 'the input length exceeds the context length' };
    case 'bad_request':
      return { status: 400, message: 'invalid options: num_predict' };
    case 'not_found':
      return { status: 404, message: `model "${model}" not found, try pulling it first` };
  }
}

export class OllamaSimulator extends SimulatorCore {
  protected readonly prefix = '';

  constructor(options: SimulatorOptions = {}) {
    super(options);
  }

  /** OLLAMA_HOST for this simulator. */
  get host(): string {
    return this.origin;
  }

  protected requestKey(req: IncomingMessage): string | undefined {
    return bearer(req);
  }

  writeError(res: ServerResponse, kind: SimErrorKind, step: Step): void {
    const spec = errorSpec(kind, 'the-model');
    const headers: Record<string, string> = {};
    if (kind === 'rate_limit' && step.retryAfterSeconds !== undefined) headers['retry-after'] = String(step.retryAfterSeconds);
    sendJson(res, spec.status, { error: spec.message }, headers);
  }

  protected routes(): Route[] {
    return [
      { method: 'POST', path: '/api/chat', kind: 'chat', handle: (ctx) => this.chat(ctx) },
      { method: 'GET', path: '/api/tags', kind: 'models', handle: async ({ res }) => sendJson(res, 200, { models: OLLAMA_TAGS } satisfies Wire<{ models: TagModel[] }> as unknown as ListResponse) },
      { method: 'POST', path: '/api/embed', kind: 'embed', handle: async (ctx) => this.embed(ctx) },
      { method: 'GET', path: '/api/version', kind: 'other', handle: async ({ res }) => sendJson(res, 200, { version: '0.12.6' }) },
    ];
  }

  private known(model: string): boolean {
    return OLLAMA_TAGS.some((t) => t.name === model || t.name === `${model}:latest`);
  }

  private embed({ res, body }: HandlerContext): void {
    const params = body as EmbedRequest;
    if (!this.known(params.model)) {
      sendJson(res, 404, { error: errorSpec('not_found', params.model).message });
      return;
    }
    const inputs = Array.isArray(params.input) ? params.input : [params.input];
    const response: EmbedResponse = {
      model: params.model,
      embeddings: inputs.map((t) => fakeEmbedding(t, params.dimensions ?? this.options.embeddingDimensions ?? 256)),
      total_duration: 14_143_917,
      load_duration: 1_019_500,
      prompt_eval_count: inputs.join(' ').split(/\s+/).length,
    };
    sendJson(res, 200, response);
  }

  private async chat({ res, body, step }: HandlerContext): Promise<void> {
    const params = body as ChatRequest;
    if (!this.known(params.model)) {
      sendJson(res, 404, { error: errorSpec('not_found', params.model).message });
      return;
    }
    const plan = buildPlan(step, params.model, params.messages, params.messages);
    const lines = this.lines(plan);
    if (params.stream === false) {
      const final = JSON.parse(lines.at(-1)!) as WireChat;
      final.message.content = plan.textChunks.join('');
      if (plan.toolCall) final.message.tool_calls = [{ function: { name: plan.toolCall.name, arguments: plan.toolCall.arguments } }];
      sendJson(res, 200, final);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    await this.writeFrames(res, lines, {
      step,
      garbage: '{"model":"broken","message":{"role":"assistant","content":"tru\n',
      midStreamError: (kind) => `${JSON.stringify({ error: errorSpec(kind === 'overloaded' ? 'overloaded' : 'server', plan.model).message })}\n`,
    });
  }

  /** The NDJSON lines of one streamed answer. */
  lines(plan: Plan): string[] {
    const created = () => new Date().toISOString();
    const line = (message: WireChat['message']): string => {
      const partial: Pick<WireChat, 'model' | 'created_at' | 'message' | 'done'> = { model: plan.model, created_at: created(), message, done: false };
      return `${JSON.stringify(partial)}\n`;
    };
    const out: string[] = [];
    if (plan.thinking) for (const piece of plan.thinking.match(/.{1,12}/gs) ?? []) out.push(line({ role: 'assistant', content: '', thinking: piece }));
    for (const piece of plan.textChunks) out.push(line({ role: 'assistant', content: piece }));
    if (plan.toolCall) out.push(line({ role: 'assistant', content: '', tool_calls: [{ function: { name: plan.toolCall.name, arguments: plan.toolCall.arguments } }] }));
    const final: WireChat = {
      model: plan.model,
      created_at: created(),
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: plan.finishReason ?? 'stop',
      total_duration: 5_191_566_416,
      load_duration: 2_154_458,
      prompt_eval_count: plan.usage.input,
      prompt_eval_duration: 383_809_000,
      eval_count: plan.usage.output,
      eval_duration: 4_799_921_000,
    };
    out.push(`${JSON.stringify(final)}\n`);
    return out;
  }
}
