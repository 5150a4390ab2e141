/**
 * Runs one agent turn: streams the model's answer, executes the tool calls
 * it makes (with the acting user injected by the server), and loops until
 * the model answers in text or the step budget is spent.
 */
import { MosaicError, errorMessage, isMosaicError } from '../errors.ts';
import type { ChatMessage, Credential, ProviderAdapter, ProviderState, StopReason, ToolCall, Usage } from '../providers/types.ts';
import { toolSpec, type AgentTool, type ToolContext } from './tool.ts';

export type RunnerEvent =
  | { type: 'text'; delta: string }
  | { type: 'thinking'; delta: string }
  | { type: 'tool_start'; call: ToolCall }
  | { type: 'tool_end'; call: ToolCall; ok: boolean; result: string };

export interface RunnerInput {
  adapter: ProviderAdapter;
  model: string;
  credential?: Credential | undefined;
  system: string;
  history: ChatMessage[];
  tools: AgentTool[];
  maxSteps: number;
  maxTokens?: number;
  context: ToolContext;
  signal?: AbortSignal;
  onEvent?: (event: RunnerEvent) => void;
  /** Messages that arrived meanwhile (a person's interrupts), added before each model call; not part of the stored turn. */
  interjections?: () => ChatMessage[];
}

export interface ModelCall {
  model: string;
  usage: Usage;
  stopReason: StopReason;
}

export interface RunnerResult {
  text: string;
  thinking: string;
  /** Messages produced this turn (assistant tool calls, tool results, final answer), in order. */
  messages: ChatMessage[];
  calls: ModelCall[];
  usage: Usage;
  stopReason: StopReason;
  model: string;
  toolSteps: number;
}

const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

const MAX_TOOL_RESULT = 16_000;

async function runTool(tools: Map<string, AgentTool>, call: ToolCall, ctx: ToolContext): Promise<{ ok: boolean; result: string }> {
  const tool = tools.get(call.name);
  if (!tool) return { ok: false, result: `error: no tool named "${call.name}" is available to this agent` };
  const parsed = tool.args.safeParse(call.arguments);
  if (!parsed.success) {
    return { ok: false, result: `error: invalid arguments for ${call.name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  }
  try {
    const value = await tool.run(parsed.data, ctx);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return { ok: true, result: text.length > MAX_TOOL_RESULT ? `${text.slice(0, MAX_TOOL_RESULT)}…(truncated)` : text };
  } catch (err) {
    // The model sees the failure and may recover; it is never a crash of the turn.
    return { ok: false, result: `error: ${isMosaicError(err) ? err.userNotice : errorMessage(err)}` };
  }
}

export async function runAgentTurn(input: RunnerInput): Promise<RunnerResult> {
  const tools = new Map(input.tools.map((t) => [t.name, t]));
  const specs = input.tools.map(toolSpec);
  const conversation: ChatMessage[] = [...input.history];
  const produced: ChatMessage[] = [];
  const calls: ModelCall[] = [];
  let usage = emptyUsage();
  let thinking = '';
  let toolSteps = 0;
  let finalText: string;
  let stopReason: StopReason;
  let model: string;

  for (;;) {
    if (input.signal?.aborted) throw new MosaicError('cancelled', 'the answer was stopped', { httpStatus: 499, userNotice: 'Stopped.' });
    conversation.push(...(input.interjections?.() ?? []));
    // The last allowed round is offered no tools, so the model must answer in words.
    const offerTools = specs.length > 0 && toolSteps < input.maxSteps;
    let text = '';
    const toolCalls: ToolCall[] = [];
    let done: { usage: Usage; stopReason: StopReason; model: string; providerState?: ProviderState } | null = null;
    for await (const event of input.adapter.chat({
      model: input.model,
      system: input.system,
      messages: conversation,
      ...(offerTools ? { tools: specs } : {}),
      ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
      ...(input.credential ? { credential: input.credential } : {}),
    })) {
      if (event.type === 'text') {
        text += event.delta;
        input.onEvent?.({ type: 'text', delta: event.delta });
      } else if (event.type === 'thinking') {
        thinking += event.delta;
        input.onEvent?.({ type: 'thinking', delta: event.delta });
      } else if (event.type === 'tool_call') {
        toolCalls.push(event.call);
      } else if (event.type === 'done') {
        done = event;
      }
    }
    if (!done) throw new MosaicError('provider_stream_incomplete', `${input.adapter.name} ended the stream without finishing the answer`, { httpStatus: 502, retryable: true, userNotice: 'The model stopped answering part-way; please try again.' });
    calls.push({ model: done.model, usage: done.usage, stopReason: done.stopReason });
    usage = addUsage(usage, done.usage);
    model = done.model;
    stopReason = done.stopReason;

    if (toolCalls.length === 0 || !offerTools) {
      finalText = text;
      const answer: ChatMessage = { role: 'assistant', content: text };
      produced.push(answer);
      break;
    }
    const assistant: ChatMessage = { role: 'assistant', content: text, toolCalls };
    // The provider's opaque state (signed thinking) goes back to it within this loop only; it is not part of the stored turn.
    conversation.push(done.providerState ? { ...assistant, providerState: done.providerState } : assistant);
    produced.push(assistant);
    toolSteps += 1;
    for (const call of toolCalls) {
      input.onEvent?.({ type: 'tool_start', call });
      const outcome = await runTool(tools, call, { ...input.context, ...(input.signal ? { signal: input.signal } : {}) });
      input.onEvent?.({ type: 'tool_end', call, ok: outcome.ok, result: outcome.result });
      const result: ChatMessage = { role: 'tool', content: outcome.result, toolCallId: call.id };
      conversation.push(result);
      produced.push(result);
    }
  }
  return { text: finalText, thinking, messages: produced, calls, usage, stopReason, model, toolSteps };
}
