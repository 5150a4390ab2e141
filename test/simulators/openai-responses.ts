/**
 * OpenAI's Responses API (POST /v1/responses) for the OpenAI simulator: the
 * streamed event sequence (response.created … output items with text,
 * reasoning summaries and function-call argument deltas … response.completed
 * / incomplete / failed, `error` events), typed with the `openai` SDK's own
 * event types.
 *
 * It checks requests the way the API does for stateless (`store: false`)
 * use: a function_call_output must answer a function_call earlier in the
 * input; reasoning models refuse `temperature`, other models refuse
 * reasoning options; encrypted reasoning is only valid for the model it was
 * issued to; and within the current tool loop a reasoning model's
 * function_call must come with the reasoning item of the response that made
 * it — which is what a client that drops reasoning items gets wrong.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type {
  Response,
  ResponseCreateParams,
  ResponseErrorEvent,
  ResponseInputItem,
  ResponseOutputItem,
  ResponseReasoningItem,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { buildPlan, lastUserText, sendJson, type HandlerContext, type Plan } from './common.ts';

/** The simulator's rule for "a reasoning model": GPT-5 and later, and the o-series. */
export const isSimReasoningModel = (model: string): boolean => /^(gpt-[5-9]|o\d)/.test(model);

const badRequest = (res: ServerResponse, message: string, param: string | null = null, code: string | null = null): void =>
  sendJson(res, 400, { error: { message, type: 'invalid_request_error', param, code } }, { 'x-request-id': `req_sim_${Date.now()}` });

/** The SSE wire form. `output_text` is a convenience the SDK adds to whole responses; it is not on the wire. */
const sse = (event: ResponseStreamEvent): string => `event: ${event.type}\ndata: ${JSON.stringify(event, (k, v: unknown) => (k === 'output_text' ? undefined : v))}\n\n`;

type Item = ResponseInputItem & { type?: string; role?: string };

export class ResponsesEndpoint {
  /** Encrypted reasoning this simulator issued → the model it belongs to. */
  private readonly issued = new Map<string, string>();
  /** call_id → the reasoning (id and encrypted content) of the response that made the call, for reasoning models. */
  private readonly reasonedCalls = new Map<string, { model: string; reasoningId: string; encrypted: string | null }>();

  /**
   * Test control: act as an organisation OpenAI has not verified, which may
   * not ask for reasoning summaries (everything else works).
   */
  unverifiedOrganization = false;

  validate(params: ResponseCreateParams): { message: string; param?: string; code?: string } | null {
    if (!params.model) return { message: 'Missing required parameter: model.', param: 'model' };
    const reasoningModel = isSimReasoningModel(params.model);
    if (this.unverifiedOrganization && params.reasoning?.summary) {
      return { message: 'Your organization must be verified to generate reasoning summaries. Please go to: https://platform.openai.com/settings/organization/general and click on Verify Organization.', param: 'reasoning.summary', code: 'unsupported_value' };
    }
    if (params.temperature !== undefined && params.temperature !== null && reasoningModel) {
      return { message: "Unsupported parameter: 'temperature' is not supported with this model.", param: 'temperature' };
    }
    if (!reasoningModel && params.include?.includes('reasoning.encrypted_content')) return { message: 'Encrypted content is not supported with this model.', param: 'include' };
    if (!reasoningModel && params.reasoning) return { message: "Unsupported parameter: 'reasoning.summary' is not supported with this model.", param: 'reasoning.summary' };
    const input: Item[] = typeof params.input === 'string' ? [{ role: 'user', content: params.input }] : ((params.input ?? []) as Item[]);
    if (input.length === 0) return { message: "Invalid 'input': empty array. Expected an array with minimum length 1.", param: 'input' };

    const lastUser = input.findLastIndex((i) => (i.type === 'message' || i.type === undefined) && i.role === 'user');
    const calls = new Set<string>();
    for (let i = 0; i < input.length; i++) {
      const item = input[i]!;
      if (item.type === 'reasoning') {
        const r = item as ResponseReasoningItem;
        if (!r.encrypted_content) {
          return { message: `Item with id '${r.id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`, param: 'input' };
        }
        if (this.issued.get(r.encrypted_content) !== params.model) return { message: `The encrypted content for item ${r.id} could not be verified.`, param: `input[${i}].encrypted_content` };
        const next = input[i + 1];
        if (!next || !(next.type === 'function_call' || ((next.type === 'message' || next.type === undefined) && next.role === 'assistant'))) {
          return { message: `Item '${r.id}' of type 'reasoning' was provided without its required following item.`, param: 'input' };
        }
      } else if (item.type === 'function_call') {
        const call = item as Extract<ResponseInputItem, { type: 'function_call' }>;
        calls.add(call.call_id);
        const made = this.reasonedCalls.get(call.call_id);
        // Only the tool loop in progress (after the last user message) needs its reasoning back.
        if (i > lastUser && reasoningModel && made && made.model === params.model && !this.precededByReasoning(input, i, made.encrypted)) {
          return { message: `Item '${call.id ?? call.call_id}' of type 'function_call' was provided without its required 'reasoning' item: '${made.reasoningId}'.`, param: 'input' };
        }
      } else if (item.type === 'function_call_output') {
        const output = item as ResponseInputItem.FunctionCallOutput;
        if (!calls.has(output.call_id)) return { message: `No tool call found for function call output with call_id ${output.call_id}.`, param: 'input' };
      }
    }
    return null;
  }

  /** The reasoning item with this encrypted content sits in the same assistant run, before the call. */
  private precededByReasoning(input: Item[], index: number, encrypted: string | null): boolean {
    for (let j = index - 1; j >= 0; j--) {
      const item = input[j]!;
      if (item.type === 'reasoning') {
        if (encrypted !== null && (item as ResponseReasoningItem).encrypted_content === encrypted) return true;
        continue;
      }
      if (item.type === 'function_call' || ((item.type === 'message' || item.type === undefined) && item.role === 'assistant')) continue;
      return false;
    }
    return false;
  }

  async handle({ res, body, step, sim }: HandlerContext): Promise<void> {
    const params = body as ResponseCreateParams;
    const invalid = this.validate(params);
    if (invalid) {
      badRequest(res, invalid.message, invalid.param ?? null, invalid.code ?? null);
      return;
    }
    const input: Item[] = typeof params.input === 'string' ? [{ role: 'user', content: params.input }] : ((params.input ?? []) as Item[]);
    const asMessages = input
      .filter((i) => (i.type === 'message' || i.type === undefined) && i.role === 'user')
      .map((i) => {
        const content = (i as { content: unknown }).content;
        const text = typeof content === 'string' ? content : Array.isArray(content) ? content.filter((p: { type?: string }) => p.type === 'input_text').map((p: { text?: string }) => p.text ?? '').join('\n') : '';
        return { role: 'user', content: text };
      });
    const plan = buildPlan(step, params.model!, [{ role: 'user', content: lastUserText(asMessages) }], { instructions: params.instructions, input });
    const responseId = `resp_${randomUUID().replace(/-/g, '')}`;
    const reasoning = isSimReasoningModel(plan.model) ? this.reason(plan, params) : null;
    if (plan.toolCall && reasoning) this.reasonedCalls.set(plan.toolCall.id, { model: plan.model, reasoningId: reasoning.id, encrypted: reasoning.encrypted_content ?? null });
    if (!params.stream) {
      const response = this.response(responseId, plan, 'completed', this.outputItems(plan, reasoning));
      sendJson(res, 200, { ...response, output_text: undefined });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_sim_${Date.now()}` });
    const frames = this.frames(responseId, plan, reasoning);
    let sequence = frames.length;
    await sim.writeFrames(res, frames, {
      step,
      garbage: 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"tru\n\n',
      midStreamError: (kind) => {
        if (kind === 'server') {
          const event: ResponseErrorEvent = { type: 'error', code: 'server_error', message: 'The server had an error while processing your request. Sorry about that!', param: null, sequence_number: sequence++ };
          return sse(event);
        }
        const failed = this.response(responseId, plan, 'failed', []);
        failed.error = { code: 'server_error', message: 'The model is currently overloaded with other requests. You can retry your request.' };
        return sse({ type: 'response.failed', response: failed, sequence_number: sequence++ });
      },
    });
  }

  /** A reasoning model always reasons; the summary shows only when asked for, the encrypted form only when included. */
  private reason(plan: Plan, params: ResponseCreateParams): ResponseReasoningItem {
    const item: ResponseReasoningItem = { id: `rs_${randomUUID().replace(/-/g, '')}`, type: 'reasoning', summary: [] };
    if (params.reasoning?.summary && plan.thinking) item.summary = [{ type: 'summary_text', text: plan.thinking }];
    if (params.include?.includes('reasoning.encrypted_content')) {
      const encrypted = Buffer.from(`sim-reasoning:${plan.model}:${randomUUID()}`).toString('base64');
      this.issued.set(encrypted, plan.model);
      item.encrypted_content = encrypted;
    }
    return item;
  }

  private usage(plan: Plan): ResponseUsage {
    const input = plan.usage.input + plan.usage.cacheRead + plan.usage.cacheWrite;
    return {
      input_tokens: input,
      input_tokens_details: { cached_tokens: plan.usage.cacheRead, cache_write_tokens: plan.usage.cacheWrite },
      output_tokens: plan.usage.output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + plan.usage.output,
    };
  }

  private response(id: string, plan: Plan, status: 'in_progress' | 'completed' | 'incomplete' | 'failed', output: ResponseOutputItem[]): Response {
    const incomplete = status === 'incomplete';
    return {
      id,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status,
      model: plan.model,
      output,
      output_text: '',
      error: null,
      incomplete_details: incomplete ? { reason: plan.finishReason === 'content_filter' ? 'content_filter' : 'max_output_tokens' } : null,
      instructions: null,
      metadata: {},
      parallel_tool_calls: true,
      temperature: null,
      tool_choice: 'auto',
      tools: [],
      top_p: null,
      ...(status === 'completed' || incomplete ? { usage: this.usage(plan) } : {}),
    };
  }

  private outputItems(plan: Plan, reasoning: ResponseReasoningItem | null): ResponseOutputItem[] {
    const out: ResponseOutputItem[] = [];
    if (reasoning) out.push({ ...reasoning, status: 'completed' } as ResponseReasoningItem);
    const text = plan.textChunks.join('');
    if (text) out.push({ id: 'msg_sim_0', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] });
    if (plan.toolCall) out.push({ id: `fc_${plan.toolCall.id}`, type: 'function_call', call_id: plan.toolCall.id, name: plan.toolCall.name, arguments: JSON.stringify(plan.toolCall.arguments), status: 'completed' });
    return out;
  }

  /** The SSE frames of one streamed answer. A finishReason of 'max_output_tokens' or 'content_filter' ends it incomplete. */
  frames(responseId: string, plan: Plan, reasoning: ResponseReasoningItem | null): string[] {
    let seq = 0;
    const out: string[] = [];
    const push = (event: ResponseStreamEvent) => out.push(sse(event));
    const withSeq = <T extends object>(e: T) => ({ ...e, sequence_number: seq++ });
    push(withSeq({ type: 'response.created' as const, response: this.response(responseId, plan, 'in_progress', []) }));
    push(withSeq({ type: 'response.in_progress' as const, response: this.response(responseId, plan, 'in_progress', []) }));
    const done = this.outputItems(plan, reasoning);
    let index = 0;
    if (reasoning) {
      const id = reasoning.id;
      push(withSeq({ type: 'response.output_item.added' as const, output_index: index, item: { id, type: 'reasoning' as const, summary: [] } }));
      for (const [s, part] of reasoning.summary.entries()) {
        push(withSeq({ type: 'response.reasoning_summary_part.added' as const, item_id: id, output_index: index, summary_index: s, part: { type: 'summary_text' as const, text: '' } }));
        for (const piece of part.text.match(/.{1,12}/gs) ?? []) {
          push(withSeq({ type: 'response.reasoning_summary_text.delta' as const, item_id: id, output_index: index, summary_index: s, delta: piece }));
        }
        push(withSeq({ type: 'response.reasoning_summary_text.done' as const, item_id: id, output_index: index, summary_index: s, text: part.text }));
        push(withSeq({ type: 'response.reasoning_summary_part.done' as const, item_id: id, output_index: index, summary_index: s, part: { type: 'summary_text' as const, text: part.text } }));
      }
      push(withSeq({ type: 'response.output_item.done' as const, output_index: index, item: done[index]! }));
      index++;
    }
    if (plan.textChunks.length) {
      const id = 'msg_sim_0';
      const text = plan.textChunks.join('');
      push(withSeq({ type: 'response.output_item.added' as const, output_index: index, item: { id, type: 'message' as const, role: 'assistant' as const, status: 'in_progress' as const, content: [] } }));
      push(withSeq({ type: 'response.content_part.added' as const, item_id: id, output_index: index, content_index: 0, part: { type: 'output_text' as const, text: '', annotations: [], logprobs: [] } }));
      for (const piece of plan.textChunks) push(withSeq({ type: 'response.output_text.delta' as const, item_id: id, output_index: index, content_index: 0, delta: piece, logprobs: [] }));
      push(withSeq({ type: 'response.output_text.done' as const, item_id: id, output_index: index, content_index: 0, text, logprobs: [] }));
      push(withSeq({ type: 'response.content_part.done' as const, item_id: id, output_index: index, content_index: 0, part: { type: 'output_text' as const, text, annotations: [], logprobs: [] } }));
      push(withSeq({ type: 'response.output_item.done' as const, output_index: index, item: done[index]! }));
      index++;
    }
    if (plan.toolCall) {
      const tc = plan.toolCall;
      const id = `fc_${tc.id}`;
      push(withSeq({ type: 'response.output_item.added' as const, output_index: index, item: { id, type: 'function_call' as const, call_id: tc.id, name: tc.name, arguments: '', status: 'in_progress' as const } }));
      for (const piece of tc.argChunks) push(withSeq({ type: 'response.function_call_arguments.delta' as const, item_id: id, output_index: index, delta: piece }));
      push(withSeq({ type: 'response.function_call_arguments.done' as const, item_id: id, output_index: index, name: tc.name, arguments: JSON.stringify(tc.arguments) }));
      push(withSeq({ type: 'response.output_item.done' as const, output_index: index, item: done[index]! }));
    }
    const incomplete = plan.finishReason === 'max_output_tokens' || plan.finishReason === 'content_filter';
    if (incomplete) push(withSeq({ type: 'response.incomplete' as const, response: this.response(responseId, plan, 'incomplete', done) }));
    else push(withSeq({ type: 'response.completed' as const, response: this.response(responseId, plan, 'completed', done) }));
    return out;
  }
}
