/**
 * Provider simulators for tests: one local HTTP server per provider,
 * speaking its wire format. Typical use:
 *
 *   const sim = await startSimulator('anthropic');
 *   sim.script({ toolCall: { name: 'memory_search', arguments: { query: 'x' } } }, { text: 'done' });
 *   // point the adapter (or the whole config) at sim.baseUrl, key SIMULATOR_KEY
 *   ...
 *   expect(sim.lastChatBody().system).toBe('…');
 *   await sim.close();
 *
 * With no script every chat request is answered with `Echo: <last user message>`.
 */
import type { ProviderName } from '../../src/providers/types.ts';
import { AnthropicSimulator } from './anthropic.ts';
import { OllamaSimulator } from './ollama.ts';
import { OpenAIStyleSimulator } from './openai-style.ts';
import type { SimulatorCore, SimulatorOptions } from './common.ts';

export * from './common.ts';
export { AnthropicSimulator } from './anthropic.ts';
export { OllamaSimulator } from './ollama.ts';
export { OpenAIStyleSimulator } from './openai-style.ts';

/** The key the simulators accept by default. */
export const SIMULATOR_KEY = 'sk-sim-test-key';

export type AnySimulator = AnthropicSimulator | OpenAIStyleSimulator | OllamaSimulator;

export async function startSimulator(provider: ProviderName, options: SimulatorOptions = {}): Promise<AnySimulator> {
  const opts: SimulatorOptions = { ...options };
  if (provider !== 'ollama' && !('apiKey' in options)) opts.apiKey = SIMULATOR_KEY;
  let sim: AnySimulator;
  if (provider === 'anthropic') sim = new AnthropicSimulator(opts);
  else if (provider === 'ollama') sim = new OllamaSimulator(opts);
  else sim = new OpenAIStyleSimulator(provider, opts);
  await sim.start();
  return sim;
}

/**
 * Config values that point Mosaic's providers at running simulators:
 * `parseConfig({ providers: simulatorProviderConfig({ anthropic: sim }) })`.
 */
export function simulatorProviderConfig(sims: Partial<Record<ProviderName, SimulatorCore>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, sim] of Object.entries(sims)) {
    if (!sim) continue;
    out[name] = name === 'ollama' ? { enabled: true, host: sim.origin } : { enabled: true, apiKey: sim.options.apiKey ?? SIMULATOR_KEY, baseUrl: sim.configBaseUrl };
  }
  return out;
}
