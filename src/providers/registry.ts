/**
 * The adapters this install has, built from the config. Routing and the
 * agent runner look providers up here; nothing else constructs adapters.
 */
import type { Logger } from '../logging.ts';
import type { MosaicConfig } from '../config/schema.ts';
import { policyFromConfig } from './base.ts';
import type { StreamPolicy } from './stream-guard.ts';
import { userEndpointFetch } from './user-endpoints.ts';
import { AnthropicAdapter } from './anthropic.ts';
import { createOpenAIAdapter } from './openai.ts';
import { createOpenRouterAdapter } from './openrouter.ts';
import { createZaiAdapter } from './zai.ts';
import { OllamaAdapter } from './ollama.ts';
import { PROVIDER_NAMES, type ProviderAdapter, type ProviderName } from './types.ts';

export interface ProviderRegistry {
  /** The adapter, or undefined when the provider is disabled in the config. */
  get(name: ProviderName): ProviderAdapter | undefined;
  /** Every enabled adapter, in PROVIDER_NAMES order. */
  list(): ProviderAdapter[];
  /** Enabled adapters that have a system credential (Ollama always does when enabled). */
  withSystemCredential(): ProviderAdapter[];
  isEnabled(name: ProviderName): boolean;
}

export interface RegistryOptions {
  /** Overrides of the retry/timeout policy (tests inject sleep and backoff; health wires onOutcome). */
  policy?: Partial<StreamPolicy>;
  /** Adapters to use instead of the built ones (tests). */
  adapters?: Partial<Record<ProviderName, ProviderAdapter>>;
}

export function createProviderRegistry(config: MosaicConfig, logger: Logger, options: RegistryOptions = {}): ProviderRegistry {
  const policy = policyFromConfig(config, options.policy);
  const p = config.providers;
  const common = { policy, logger, appName: 'Mosaic', userEndpointFetch: userEndpointFetch(p.userBaseUrls), ...(config.http.publicUrl ? { appUrl: config.http.publicUrl } : {}) };
  const adapters = new Map<ProviderName, ProviderAdapter>();
  const build: Record<ProviderName, () => ProviderAdapter> = {
    anthropic: () => new AnthropicAdapter({ ...common, settings: p.anthropic }),
    openai: () => createOpenAIAdapter({ ...common, settings: p.openai }),
    openrouter: () => createOpenRouterAdapter({ ...common, settings: p.openrouter }),
    zai: () => createZaiAdapter({ ...common, settings: p.zai }),
    ollama: () => new OllamaAdapter({ ...common, settings: p.ollama }),
  };
  for (const name of PROVIDER_NAMES) {
    if (!p[name].enabled) continue;
    adapters.set(name, options.adapters?.[name] ?? build[name]());
  }
  return {
    get: (name) => adapters.get(name),
    list: () => [...adapters.values()],
    withSystemCredential: () => [...adapters.values()].filter((a) => a.hasSystemCredential()),
    isEnabled: (name) => adapters.has(name),
  };
}
