/** Builds adapters pointed at simulators, with a fast retry policy. */
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/logging.ts';
import { createProviderRegistry } from '../../src/providers/registry.ts';
import type { StreamPolicy } from '../../src/providers/stream-guard.ts';
import type { ChatEvent, ChatRequest, ProviderAdapter, ProviderName } from '../../src/providers/types.ts';
import { simulatorProviderConfig, type AnySimulator } from '../simulators/index.ts';

export const logger = createLogger('silent');

export function adapterFor(provider: ProviderName, sim: AnySimulator, policy: Partial<StreamPolicy> = {}, providers: Record<string, unknown> = {}): ProviderAdapter {
  const config = parseConfig({ providers: { ...simulatorProviderConfig({ [provider]: sim }), streamIdleTimeoutMs: 2000, requestTimeoutMs: 10_000, maxRetries: 2, ...providers } });
  const registry = createProviderRegistry(config, logger, { policy: { backoff: { baseMs: 5, maxMs: 20, jitter: false, maxRetryAfterMs: 5000 }, ...policy } });
  const adapter = registry.get(provider);
  if (!adapter) throw new Error(`${provider} is not enabled`);
  return adapter;
}

export async function collect(stream: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

export async function collectError(stream: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; error: unknown }> {
  const events: ChatEvent[] = [];
  try {
    for await (const e of stream) events.push(e);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

export const textOf = (events: ChatEvent[]): string => events.filter((e) => e.type === 'text').map((e) => (e as { delta: string }).delta).join('');

export const MODELS: Record<ProviderName, string> = {
  anthropic: 'claude-sonnet-4-5',
  openai: 'gpt-5-mini',
  openrouter: 'anthropic/claude-sonnet-4.5',
  zai: 'glm-4.6',
  ollama: 'llama3.2',
};

export const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

export function request(provider: ProviderName, overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model: MODELS[provider],
    system: 'You are a test assistant.',
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    ...overrides,
  };
}
