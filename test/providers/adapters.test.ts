/**
 * The five adapters, each through its real SDK against its simulator: model
 * listing, a streamed tool call, usage, every error kind, stalls,
 * cancellation, retries and per-user credentials.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/errors.ts';
import { PROVIDER_NAMES, type ChatEvent, type ProviderName } from '../../src/providers/types.ts';
import { startSimulator, type AnySimulator, type SimErrorKind } from '../simulators/index.ts';
import { adapterFor, collect, collectError, request, textOf, weatherTool } from './helpers.ts';

const EMBEDDING_MODEL: Partial<Record<ProviderName, string>> = { openai: 'text-embedding-3-small', zai: 'embedding-3', ollama: 'nomic-embed-text' };

describe.each(PROVIDER_NAMES.map((p) => [p]))('%s adapter against its simulator', (provider: ProviderName) => {
  let sim: AnySimulator;
  beforeAll(async () => {
    sim = await startSimulator(provider);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.reset();
  });

  it('lists models merged with the catalogue', async () => {
    const models = await adapterFor(provider, sim).listModels();
    expect(models.every((m) => m.provider === provider)).toBe(true);
    const both = models.filter((m) => m.source === 'both');
    const listed = models.filter((m) => m.source === 'listed');
    expect(both.length).toBeGreaterThan(0);
    expect(listed.length).toBeGreaterThan(0);
    // Unknown listed models get conservative defaults.
    expect(listed.filter((m) => !m.embedding).every((m) => m.tools === false || provider === 'openrouter')).toBe(true);
    expect(sim.requests.some((r) => r.kind === 'models')).toBe(true);
    const health = await adapterFor(provider, sim).healthCheck();
    expect(health.ok).toBe(true);
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('streams a chat that makes one tool call, then answers from the tool result', async () => {
    const adapter = adapterFor(provider, sim);
    sim.script({ text: 'Let me check.', toolCall: { name: 'get_weather', arguments: { city: 'Paris', units: 'metric' } } });
    const events = await collect(adapter.chat(request(provider, { tools: [weatherTool] })));
    expect(textOf(events)).toBe('Let me check.');
    const deltas = events.filter((e) => e.type === 'tool_call_delta');
    expect(deltas.length).toBeGreaterThan(0);
    const calls = events.filter((e): e is Extract<ChatEvent, { type: 'tool_call' }> => e.type === 'tool_call');
    expect(calls).toHaveLength(1);
    const call = calls[0]!.call;
    expect(call.name).toBe('get_weather');
    expect(call.arguments).toEqual({ city: 'Paris', units: 'metric' });
    expect(call.id).toBeTruthy();
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    expect(done.stopReason).toBe('tool_use');
    expect(done.usage.inputTokens).toBeGreaterThan(0);
    expect(done.usage.outputTokens).toBeGreaterThan(0);

    // The request carried the system prompt, the message and the tool.
    const first = JSON.stringify(sim.lastChatBody());
    expect(first).toContain('You are a test assistant.');
    expect(first).toContain('What is the weather in Paris?');
    expect(first).toContain('get_weather');

    // Second turn: history with the call and its result; default echo answer.
    const second = await collect(
      adapter.chat(
        request(provider, {
          tools: [weatherTool],
          messages: [
            { role: 'user', content: 'What is the weather in Paris?' },
            { role: 'assistant', content: 'Let me check.', toolCalls: [call] },
            { role: 'tool', toolCallId: call.id, content: '{"temp":21}' },
            { role: 'user', content: 'Thanks, and tomorrow?' },
          ],
        }),
      ),
    );
    expect(textOf(second)).toBe('Echo: Thanks, and tomorrow?');
    const done2 = second.at(-1)!;
    expect(done2.type === 'done' && done2.stopReason).toBe('end');
    const body = JSON.stringify(sim.lastChatBody());
    expect(body).toContain('{\\"temp\\":21}');
    expect(body).toContain('Let me check.');
    expect(body).toContain('get_weather');
  });

  it('reports usage including cache tokens where the provider has them', async () => {
    sim.script({ text: 'ok', usage: { input: 120, output: 30, cacheRead: 50, cacheWrite: 10 } });
    const events = await collect(adapterFor(provider, sim).chat(request(provider)));
    const done = events.at(-1)!;
    if (done.type !== 'done') throw new Error('no done event');
    const expected = {
      anthropic: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 50, cacheWriteTokens: 10 },
      openrouter: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 50, cacheWriteTokens: 10 },
      // Responses' input_tokens include cached and cache-written ones, each reported in input_tokens_details.
      openai: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 50, cacheWriteTokens: 10 },
      // Chat-completions prompt_tokens include cached ones; no cache-write figure.
      zai: { inputTokens: 130, outputTokens: 30, cacheReadTokens: 50, cacheWriteTokens: 0 },
      ollama: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 0, cacheWriteTokens: 0 },
    }[provider];
    expect(done.usage).toEqual(expected);
    expect(done.model).toContain(request(provider).model.split('/').at(-1)!.slice(0, 5));
  });

  it('streams thinking where the provider sends it', async () => {
    sim.script({ thinking: 'The user wants weather.', text: 'Sunny.' });
    const events = await collect(adapterFor(provider, sim).chat(request(provider)));
    expect(textOf(events)).toBe('Sunny.');
    const thinking = events.filter((e) => e.type === 'thinking').map((e) => (e as { delta: string }).delta).join('');
    // OpenAI (Responses API) streams it as a reasoning summary.
    expect(thinking).toBe('The user wants weather.');
  });

  const cases: Array<[SimErrorKind, ProviderError['kind']]> = [
    ['auth', 'auth'],
    ['rate_limit', 'rate_limit'],
    ['server', 'unavailable'],
    ['overloaded', 'unavailable'],
    ['context_length', 'context_length'],
    ['bad_request', 'bad_request'],
  ];
  it.each(cases)('maps a %s error to kind %s', async (simKind, kind) => {
    sim.script({ error: simKind, retryAfterSeconds: 7 });
    const { events, error } = await collectError(adapterFor(provider, sim, { maxRetries: 0 }).chat(request(provider)));
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    const pe = error as ProviderError;
    expect(pe.kind).toBe(kind);
    expect(pe.provider).toBe(provider);
    expect(pe.userNotice.length).toBeGreaterThan(10);
    if (kind === 'rate_limit') {
      expect(pe.retryAfterMs).toBe(7000);
      expect(pe.userNotice).toContain('7 s');
    }
  });

  it('maps a context-too-long request to context_length (the provider measures the prompt)', async () => {
    const small = await startSimulator(provider, { contextLimitTokens: 50 });
    try {
      const { error } = await collectError(adapterFor(provider, small, { maxRetries: 0 }).chat(request(provider, { messages: [{ role: 'user', content: 'x'.repeat(1000) }] })));
      expect((error as ProviderError).kind).toBe('context_length');
    } finally {
      await small.close();
    }
  });

  it('maps a malformed stream to malformed_stream', async () => {
    sim.script({ text: 'A long enough answer to span frames', malformedAfterFrames: 3 });
    const { error } = await collectError(adapterFor(provider, sim, { maxRetries: 0 }).chat(request(provider)));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('malformed_stream');
  });

  it('reports an error event in the middle of the stream and does not retry it', async () => {
    // Frame 8 falls after the first text in every format (OpenAI's Responses stream opens with four frames of lifecycle and reasoning).
    sim.script({ text: 'Partial answer that breaks off somewhere in the middle of a sentence', midStreamError: 'overloaded', errorAfterFrames: 8 });
    const { events, error } = await collectError(adapterFor(provider, sim).chat(request(provider)));
    expect(events.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(ProviderError);
    expect(['unavailable', 'rate_limit']).toContain((error as ProviderError).kind);
    expect(sim.chatRequests()).toHaveLength(1);
  });

  it('cuts a stalled stream after the idle timeout and reports it', async () => {
    sim.script({ text: 'This answer stops in the middle of it, long after its first words arrived', stallAfterFrames: 8 });
    const started = Date.now();
    const { events, error } = await collectError(adapterFor(provider, sim, { streamIdleTimeoutMs: 300 }).chat(request(provider)));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(textOf(events).length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('timeout');
    expect(sim.chatRequests()).toHaveLength(1);
    await expect.poll(() => sim.chatRequests()[0]!.clientClosed).toBe(true);
  });

  it('cuts an answer that never starts after the idle timeout', async () => {
    sim.script({ delayMs: 2000 });
    const { error } = await collectError(adapterFor(provider, sim, { streamIdleTimeoutMs: 200, maxRetries: 0 }).chat(request(provider)));
    expect((error as ProviderError).kind).toBe('timeout');
  });

  it('stops the stream when the request is cancelled', async () => {
    sim.script({ text: 'A slow answer that is cancelled half way through', frameDelayMs: 40 });
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    let error: unknown;
    try {
      for await (const e of adapterFor(provider, sim).chat(request(provider, { signal: controller.signal }))) {
        events.push(e);
        if (e.type === 'text') controller.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(events.filter((e) => e.type === 'text')).toHaveLength(1);
    expect((error as ProviderError).kind).toBe('cancelled');
    await expect.poll(() => sim.chatRequests()[0]!.clientClosed).toBe(true);
    expect(sim.chatRequests()[0]!.completed).toBe(false);
  });

  it('closes the provider connection when the caller stops reading', async () => {
    sim.script({ text: 'Another slow answer the caller abandons early', frameDelayMs: 40 });
    for await (const e of adapterFor(provider, sim).chat(request(provider))) {
      if (e.type === 'text') break;
    }
    await expect.poll(() => sim.chatRequests()[0]!.clientClosed).toBe(true);
  });

  it('retries transient errors with exponential backoff, bounded by maxRetries', async () => {
    const delays: number[] = [];
    const sleep = async (ms: number) => {
      delays.push(ms);
    };
    sim.script({ error: 'server' }, { error: 'overloaded' });
    const ok = await collect(adapterFor(provider, sim, { sleep }).chat(request(provider)));
    expect(textOf(ok)).toBe('Echo: What is the weather in Paris?');
    expect(sim.chatRequests()).toHaveLength(3);
    expect(delays).toEqual([5, 10]);

    sim.reset();
    delays.length = 0;
    sim.script({ error: 'server' }, { error: 'server' }, { error: 'server' }, { error: 'server' });
    const { error } = await collectError(adapterFor(provider, sim, { sleep }).chat(request(provider)));
    expect((error as ProviderError).kind).toBe('unavailable');
    expect(sim.chatRequests()).toHaveLength(3);
    expect(delays).toHaveLength(2);

    // A rate limit's retry-after is honoured; an auth error is never retried.
    sim.reset();
    delays.length = 0;
    sim.script({ error: 'rate_limit', retryAfterSeconds: 1 }, { error: 'auth' });
    const { error: authError } = await collectError(adapterFor(provider, sim, { sleep }).chat(request(provider)));
    expect((authError as ProviderError).kind).toBe('auth');
    expect(delays).toEqual([1000]);
    expect(sim.chatRequests()).toHaveLength(2);
  });

  if (provider !== 'ollama') {
    it("uses a user's own credential instead of the system key", async () => {
      const adapter = adapterFor(provider, sim);
      const { error } = await collectError(adapter.chat(request(provider, { credential: { source: 'user', apiKey: 'sk-user-own-key', credentialId: 'c1' } })));
      expect((error as ProviderError).kind).toBe('auth');
      const headers = sim.chatRequests()[0]!.headers;
      expect(JSON.stringify(headers)).toContain('sk-user-own-key');
      expect(JSON.stringify(headers)).not.toContain('sk-sim-test-key');
      expect(adapter.hasSystemCredential()).toBe(true);
    });
  }

  const embeddingModel = EMBEDDING_MODEL[provider];
  if (embeddingModel) {
    it('computes embeddings', async () => {
      const adapter = adapterFor(provider, sim);
      expect(adapter.embed).toBeTypeOf('function');
      const vectors = await adapter.embed!({ model: embeddingModel, texts: ['the cat sat', 'the cat sat', 'quantum chromodynamics'] });
      expect(vectors).toHaveLength(3);
      expect(vectors[0]!.length).toBeGreaterThan(10);
      expect(vectors[0]).toEqual(vectors[1]);
      expect(vectors[0]).not.toEqual(vectors[2]);
    });

    it('retries a transient embedding failure; with no retries left it is a typed error', async () => {
      sim.script({ on: 'embed', error: 'server' });
      const before = sim.requests.filter((r) => r.kind === 'embed').length;
      const vectors = await adapterFor(provider, sim).embed!({ model: embeddingModel, texts: ['the cat sat'] });
      expect(vectors).toHaveLength(1);
      expect(sim.requests.filter((r) => r.kind === 'embed').length).toBe(before + 2);
      sim.script({ on: 'embed', error: 'server' });
      const error = await adapterFor(provider, sim, {}, { maxRetries: 0 }).embed!({ model: embeddingModel, texts: ['the cat sat'] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).kind).toBe('unavailable');
      sim.script({ on: 'embed', error: 'auth' });
      const auth = await adapterFor(provider, sim).embed!({ model: embeddingModel, texts: ['the cat sat'] }).catch((e: unknown) => e);
      expect((auth as ProviderError).kind).toBe('auth');
    });
  } else {
    it('has no embeddings', () => {
      expect(adapterFor(provider, sim).embed).toBeUndefined();
    });
  }
});
