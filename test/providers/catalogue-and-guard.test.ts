/** The capability matrix lookups and the stream guard's policy edges. */
import { describe, expect, it } from 'vitest';
import { allCatalogueModels, canonicalModelId, findModel, mergeWithCatalogue } from '../../src/providers/catalogue.ts';
import { ProviderError, parseRetryAfter } from '../../src/providers/errors.ts';
import { backoffDelay, guardedStream, type ChatOutcome } from '../../src/providers/stream-guard.ts';
import type { ChatEvent } from '../../src/providers/types.ts';
import { collectError } from './helpers.ts';

describe('catalogue', () => {
  it('has the required models with complete capability rows', () => {
    const ids = allCatalogueModels().map((m) => `${m.provider}/${m.id}`);
    for (const id of [
      'anthropic/claude-opus-4-5', 'anthropic/claude-sonnet-4-5', 'anthropic/claude-haiku-4-5',
      'openai/gpt-5', 'openai/gpt-5-mini', 'openai/gpt-4.1', 'openai/o3', 'openai/text-embedding-3-small',
      'zai/glm-5', 'zai/glm-4.6', 'zai/glm-4.5-air',
      'ollama/llama3.2', 'ollama/qwen2.5-coder', 'ollama/llava', 'ollama/nomic-embed-text',
    ]) expect(ids).toContain(id);
    expect(allCatalogueModels().filter((m) => m.provider === 'openrouter').length).toBeGreaterThanOrEqual(3);
    for (const m of allCatalogueModels()) {
      expect(m.contextWindow).toBeGreaterThan(0);
      expect(['economy', 'standard', 'premium']).toContain(m.tier);
      expect(m.source).toBe('catalogue');
      if (m.provider === 'ollama') expect(m.inputPricePerMTok + m.outputPricePerMTok).toBe(0);
    }
    expect(findModel('ollama', 'llava')!.vision).toBe(true);
    expect(findModel('ollama', 'nomic-embed-text')!.embedding).toBe(true);
  });

  it('resolves dated snapshots and tags to their family', () => {
    expect(canonicalModelId('anthropic', 'claude-sonnet-4-5-20250929')).toBe('claude-sonnet-4-5');
    expect(canonicalModelId('openai', 'gpt-4.1-2025-04-14')).toBe('gpt-4.1');
    expect(canonicalModelId('ollama', 'llama3.2:latest')).toBe('llama3.2');
    expect(findModel('anthropic', 'claude-haiku-4-5-20251001')).toMatchObject({ id: 'claude-haiku-4-5-20251001', tier: 'economy' });
    expect(findModel('openai', 'unknown-model')).toBeUndefined();
  });

  it('merges listed models: known → both, unknown → conservative listed, unlisted → catalogue', () => {
    const merged = mergeWithCatalogue('ollama', [{ id: 'llama3.2:latest' }, { id: 'mystery:7b' }]);
    expect(merged.find((m) => m.id === 'llama3.2:latest')).toMatchObject({ source: 'both', tools: true });
    expect(merged.find((m) => m.id === 'mystery:7b')).toMatchObject({ source: 'listed', tools: false, vision: false, contextWindow: 8192 });
    expect(merged.find((m) => m.id === 'llama3.2')).toBeUndefined();
    expect(merged.find((m) => m.id === 'llava')).toMatchObject({ source: 'catalogue' });
  });
});

describe('stream guard', () => {
  const policy = { maxRetries: 3, streamIdleTimeoutMs: 1000, requestTimeoutMs: 5000, backoff: { baseMs: 1, maxMs: 4, jitter: false, maxRetryAfterMs: 2000 } };

  it('computes bounded exponential backoff and honours or refuses retry-after', () => {
    const opts = { baseMs: 500, maxMs: 8000, maxRetryAfterMs: 30_000, jitter: false };
    expect([0, 1, 2, 3, 4, 5].map((r) => backoffDelay(r, undefined, opts))).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
    expect(backoffDelay(0, 3000, opts)).toBe(3000);
    expect(backoffDelay(0, 60_000, opts)).toBeNull();
    const jittered = backoffDelay(2, undefined, { ...opts, jitter: true }, () => 0)!;
    expect(jittered).toBe(1000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '150' }))).toBe(150);
    expect(parseRetryAfter(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
  });

  it('does not retry a rate limit that asks to wait longer than the adapter may', async () => {
    let attempts = 0;
    const stream = guardedStream({
      provider: 'openai',
      policy,
      attempt: async function* () {
        attempts++;
        yield* [];
        throw new ProviderError('openai', 'rate_limit', 'slow down', { retryAfterMs: 60_000 });
      },
      mapError: (e) => e as ProviderError,
    });
    const { error } = await collectError(stream);
    expect((error as ProviderError).retryAfterMs).toBe(60_000);
    expect(attempts).toBe(1);
  });

  it('never splices two attempts: an error after the first event is not retried', async () => {
    let attempts = 0;
    const outcomes: ChatOutcome[] = [];
    const stream = guardedStream({
      provider: 'zai',
      policy: { ...policy, onOutcome: (o) => outcomes.push(o) },
      attempt: async function* (): AsyncGenerator<ChatEvent> {
        attempts++;
        yield { type: 'text', delta: 'half' };
        throw new ProviderError('zai', 'unavailable', 'gone');
      },
      mapError: (e) => e as ProviderError,
    });
    const { events, error } = await collectError(stream);
    expect(events).toEqual([{ type: 'text', delta: 'half' }]);
    expect((error as ProviderError).kind).toBe('unavailable');
    expect(attempts).toBe(1);
    expect(outcomes).toEqual([expect.objectContaining({ ok: false, attempts: 1 })]);
  });

  it('cuts a request that outlives requestTimeoutMs even while it keeps streaming', async () => {
    const stream = guardedStream({
      provider: 'anthropic',
      policy: { ...policy, requestTimeoutMs: 150, streamIdleTimeoutMs: 1000 },
      attempt: async function* (signal): AsyncGenerator<ChatEvent> {
        while (!signal.aborted) {
          await new Promise((r) => setTimeout(r, 20));
          yield { type: 'text', delta: '.' };
        }
      },
      mapError: (e) => e as ProviderError,
    });
    const { events, error } = await collectError(stream);
    expect(events.length).toBeGreaterThan(2);
    expect((error as ProviderError).kind).toBe('timeout');
    expect((error as ProviderError).message).toContain('150 ms');
  });

  it('reports a request cancelled before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const { error } = await collectError(
      guardedStream({ provider: 'ollama', policy, signal: controller.signal, attempt: async function* () {}, mapError: (e) => e as ProviderError }),
    );
    expect((error as ProviderError).kind).toBe('cancelled');
    expect((error as ProviderError).userNotice).toBe('The request was cancelled.');
  });
});
