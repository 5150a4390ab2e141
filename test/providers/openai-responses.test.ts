/**
 * OpenAI over the Responses API, through the real SDK against the simulator:
 * what is sent (and what is not), how history maps to input items, reasoning
 * handed back within a tool loop, stop reasons, errors inside the stream,
 * shutdown dates from the listing — and proof that chat completions can no
 * longer carry tools for the current models.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResponseCreateParams, ResponseInputItem } from 'openai/resources/responses/responses';
import { ProviderError } from '../../src/providers/errors.ts';
import { OpenAICompatibleAdapter } from '../../src/providers/openai-compatible.ts';
import { OPENAI_FLAVOR } from '../../src/providers/openai.ts';
import { streamError } from '../../src/providers/openai-errors.ts';
import { policyFromConfig } from '../../src/providers/base.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { ChatEvent, ChatMessage, ProviderState, ToolCall } from '../../src/providers/types.ts';
import { SIMULATOR_KEY, startSimulator, type OpenAIStyleSimulator } from '../simulators/index.ts';
import { adapterFor, collect, collectError, logger, request, textOf, weatherTool } from './helpers.ts';

let sim: OpenAIStyleSimulator;
beforeAll(async () => {
  sim = (await startSimulator('openai')) as OpenAIStyleSimulator;
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.reset();
});

const adapter = (policy = {}) => adapterFor('openai', sim, policy);
const body = () => sim.lastChatBody<ResponseCreateParams>();
const input = () => body().input as Array<ResponseInputItem & { type: string }>;
const doneOf = (events: ChatEvent[]) => {
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error('the stream did not end with done');
  return done;
};
const callOf = (events: ChatEvent[]): ToolCall => {
  const e = events.find((x): x is Extract<ChatEvent, { type: 'tool_call' }> => x.type === 'tool_call');
  if (!e) throw new Error('no tool call');
  return e.call;
};

describe('OpenAI on the Responses API', () => {
  it('sends a stateless Responses request: instructions, function tools, encrypted reasoning, no temperature', async () => {
    sim.script({ text: 'Sunny.' });
    await collect(adapter().chat(request('openai', { model: 'gpt-6.1-sol', tools: [weatherTool], temperature: 0.2, maxTokens: 900 })));
    const sent = sim.chatRequests().at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sim.requests.some((r) => r.path.endsWith('/chat/completions'))).toBe(false);
    const b = body();
    expect(b).toMatchObject({ model: 'gpt-6.1-sol', instructions: 'You are a test assistant.', stream: true, store: false, max_output_tokens: 900, include: ['reasoning.encrypted_content'], reasoning: { summary: 'auto' } });
    expect(b).not.toHaveProperty('temperature');
    expect(b).not.toHaveProperty('messages');
    expect(b.tools).toEqual([{ type: 'function', name: 'get_weather', description: 'Current weather for a city', parameters: weatherTool.parameters, strict: false }]);
    expect(input()).toEqual([{ type: 'message', role: 'user', content: 'What is the weather in Paris?' }]);
  });

  it('an organisation OpenAI has not verified: the summary refusal is answered by asking without, once for the system key', async () => {
    sim.responses.unverifiedOrganization = true;
    try {
      const openai = adapter();
      // The simulator takes a script step per request, the refused one included.
      sim.script({ text: 'never sent: refused' }, { thinking: 'Hidden from unverified organisations.', text: 'Sunny.' }, { text: 'Still sunny.' });
      const first = await collect(openai.chat(request('openai', { model: 'gpt-6.1-sol' })));
      expect(textOf(first)).toBe('Sunny.');
      expect(first.some((e) => e.type === 'thinking')).toBe(false);
      const asked = sim.chatRequests().map((r) => (r.body as ResponseCreateParams).reasoning?.summary ?? null);
      expect(asked).toEqual(['auto', null]);
      // Encrypted reasoning is still asked for: tool loops need it whatever the summaries.
      expect(body().include).toEqual(['reasoning.encrypted_content']);
      // The next request goes straight to the form that works.
      expect(textOf(await collect(openai.chat(request('openai', { model: 'gpt-6.1-sol' }))))).toBe('Still sunny.');
      expect(sim.chatRequests()).toHaveLength(3);
      expect(body().reasoning).toBeUndefined();
    } finally {
      sim.responses.unverifiedOrganization = false;
    }
  });

  it('asks an older, non-reasoning model for neither reasoning summaries nor encrypted reasoning (it would refuse them)', async () => {
    sim.script({ text: 'Sunny.' });
    const events = await collect(adapter().chat(request('openai', { model: 'gpt-4.1', temperature: 0.2 })));
    expect(textOf(events)).toBe('Sunny.');
    expect(body()).not.toHaveProperty('include');
    expect(body()).not.toHaveProperty('reasoning');
    expect(doneOf(events).providerState).toBeUndefined();
  });

  it('maps history to input items: images as data URLs, assistant text, function calls and their outputs', async () => {
    const call: ToolCall = { id: 'call_abc', name: 'get_weather', arguments: { city: 'Paris' } };
    const history: ChatMessage[] = [
      { role: 'user', content: 'What is in this picture?', images: [{ mimeType: 'image/png', data: 'iVBORw0KGgo=' }] },
      { role: 'assistant', content: 'A cat. Let me check the weather too.', toolCalls: [call] },
      { role: 'tool', toolCallId: 'call_abc', content: '{"temp":21}' },
      { role: 'assistant', content: 'It is 21 degrees.' },
      { role: 'user', content: 'Thanks!' },
    ];
    const events = await collect(adapter().chat(request('openai', { model: 'gpt-4.1', messages: history })));
    expect(textOf(events)).toBe('Echo: Thanks!');
    expect(input()).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' }, { type: 'input_text', text: 'What is in this picture?' }] },
      { type: 'message', role: 'assistant', content: 'A cat. Let me check the weather too.' },
      { type: 'function_call', call_id: 'call_abc', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_abc', output: '{"temp":21}' },
      { type: 'message', role: 'assistant', content: 'It is 21 degrees.' },
      { type: 'message', role: 'user', content: 'Thanks!' },
    ]);
  });

  it('a tool result that answers no call is refused, as the API does', async () => {
    const { error } = await collectError(
      adapter({ maxRetries: 0 }).chat(request('openai', { messages: [{ role: 'user', content: 'hi' }, { role: 'tool', toolCallId: 'call_nowhere', content: 'x' }] })),
    );
    expect((error as ProviderError).kind).toBe('bad_request');
    expect((error as ProviderError).message).toContain('No tool call found for function call output with call_id call_nowhere');
  });

  describe('reasoning handed back within a tool loop', () => {
    const model = 'gpt-6.1-sol';
    async function firstStep(): Promise<{ call: ToolCall; state: ProviderState | undefined; events: ChatEvent[] }> {
      sim.script({ thinking: 'I should look the weather up.', toolCall: { name: 'get_weather', arguments: { city: 'Lisbon' }, id: `call_${Math.random().toString(36).slice(2)}` } });
      const events = await collect(adapter().chat(request('openai', { model, tools: [weatherTool] })));
      return { call: callOf(events), state: doneOf(events).providerState, events };
    }
    const loop = (call: ToolCall, state?: ProviderState): ChatMessage[] => [
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '', toolCalls: [call], ...(state ? { providerState: state } : {}) },
      { role: 'tool', toolCallId: call.id, content: '{"temp":19}' },
    ];

    it('the answer carries its encrypted reasoning as provider state, and the next step sends it before the call', async () => {
      const { call, state, events } = await firstStep();
      expect(events.filter((e) => e.type === 'thinking').map((e) => (e as { delta: string }).delta).join('')).toBe('I should look the weather up.');
      expect(doneOf(events).stopReason).toBe('tool_use');
      expect(state).toMatchObject({ provider: 'openai', model, blocks: [{ type: 'reasoning', encrypted_content: expect.any(String) }] });

      sim.script({ text: 'It is 19 degrees in Lisbon.' });
      const second = await collect(adapter().chat(request('openai', { model, tools: [weatherTool], messages: loop(call, state) })));
      expect(textOf(second)).toBe('It is 19 degrees in Lisbon.');
      expect(input().map((i) => i.type)).toEqual(['message', 'reasoning', 'function_call', 'function_call_output']);
      expect((input()[1] as { encrypted_content: string }).encrypted_content).toBe((state!.blocks[0] as { encrypted_content: string }).encrypted_content);
    });

    it('without its reasoning the next step is refused', async () => {
      const { call } = await firstStep();
      const { error } = await collectError(adapter({ maxRetries: 0 }).chat(request('openai', { model, tools: [weatherTool], messages: loop(call) })));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).kind).toBe('bad_request');
      expect((error as ProviderError).message).toMatch(/of type 'function_call' was provided without its required 'reasoning' item/);
    });

    it("another model's reasoning is never sent: it could not be decrypted", async () => {
      const { call, state } = await firstStep();
      sim.script({ text: 'ok' });
      // The same loop continued on another model: the state is dropped, and that model never made the call.
      await collect(adapter().chat(request('openai', { model: 'gpt-6-sol', tools: [weatherTool], messages: loop(call, state) })));
      expect(input().map((i) => i.type)).toEqual(['message', 'function_call', 'function_call_output']);
      // And state from another provider is ignored too.
      const foreign: ProviderState = { provider: 'anthropic', model, blocks: [{ type: 'thinking', thinking: '', signature: 'x' }] };
      const { error } = await collectError(adapter({ maxRetries: 0 }).chat(request('openai', { model, tools: [weatherTool], messages: loop(call, foreign) })));
      expect((error as ProviderError).kind).toBe('bad_request');
    });

    it('once the user speaks again, earlier tool calls no longer need their reasoning', async () => {
      const { call } = await firstStep();
      const history = [...loop(call), { role: 'assistant' as const, content: 'It is 19 degrees.' }, { role: 'user' as const, content: 'And tomorrow?' }];
      const events = await collect(adapter().chat(request('openai', { model, tools: [weatherTool], messages: history })));
      expect(textOf(events)).toBe('Echo: And tomorrow?');
    });
  });

  it('maps incomplete answers to their stop reasons', async () => {
    sim.script({ text: 'cut off', finishReason: 'max_output_tokens' }, { text: 'withheld', finishReason: 'content_filter' });
    expect(doneOf(await collect(adapter().chat(request('openai')))).stopReason).toBe('max_tokens');
    expect(doneOf(await collect(adapter().chat(request('openai')))).stopReason).toBe('content_filter');
  });

  it.each([
    ['server', 'an error event'],
    ['overloaded', 'a failed response'],
  ] as const)('reports a mid-stream %s (%s) as unavailable after the text so far, without retrying', async (kind, _shape) => {
    sim.script({ text: 'Partial answer that breaks off somewhere in the middle of a sentence', midStreamError: kind, errorAfterFrames: 8 });
    const { events, error } = await collectError(adapter().chat(request('openai')));
    expect(textOf(events).length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('unavailable');
    expect((error as ProviderError).providerCode).toBe('server_error');
    expect(sim.chatRequests()).toHaveLength(1);
  });

  it('maps the codes of errors reported inside a stream', () => {
    const kind = (code: string) => streamError('openai', { code, message: 'm' }, OPENAI_FLAVOR.errorKind).kind;
    expect(kind('rate_limit_exceeded')).toBe('rate_limit');
    expect(kind('server_error')).toBe('unavailable');
    expect(kind('context_length_exceeded')).toBe('context_length');
    expect(kind('invalid_prompt')).toBe('bad_request');
    expect(kind('image_too_large')).toBe('bad_request');
    expect(kind('insufficient_quota')).toBe('auth');
  });

  it('reads shutdown dates from the model listing', async () => {
    const models = await adapter().listModels();
    expect(models.find((m) => m.id === 'gpt-sim-experimental')).toMatchObject({ source: 'listed', retiresAt: '2027-03-01' });
    expect(models.find((m) => m.id === 'gpt-5')).toMatchObject({ source: 'both', retiresAt: '2026-12-11' });
  });
});

describe('chat completions, the old path, for the current OpenAI models', () => {
  it('is refused for a tool request to gpt-5.4+ / GPT-6 unless reasoning is off', async () => {
    const config = parseConfig({ providers: { openai: { enabled: true, apiKey: SIMULATOR_KEY, baseUrl: sim.baseUrl }, maxRetries: 0 } });
    const old = new OpenAICompatibleAdapter(OPENAI_FLAVOR, { settings: config.providers.openai, policy: policyFromConfig(config), logger });
    const { error } = await collectError(old.chat(request('openai', { model: 'gpt-6.1-sol', tools: [weatherTool] })));
    expect((error as ProviderError).kind).toBe('bad_request');
    expect((error as ProviderError).message).toContain('Please use /v1/responses instead');
    expect(sim.chatRequests().at(-1)!.path).toBe('/v1/chat/completions');

    // The same request on the Responses path works.
    sim.script({ toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const events = await collect(adapter().chat(request('openai', { model: 'gpt-6.1-sol', tools: [weatherTool] })));
    expect(callOf(events).arguments).toEqual({ city: 'Paris' });
  });
});
