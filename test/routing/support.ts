/**
 * Provider state for routing tests: which providers are up, who has keys.
 * It stands in for the provider layer's health tracker and credential
 * vault behind the ProviderAvailability port; the catalogue is the real one.
 */
import { PROVIDER_NAMES, type ProviderName } from '../../src/providers/types.ts';
import type { ProviderAvailability } from '../../src/routing/types.ts';

export class ProviderState implements ProviderAvailability {
  readonly down = new Set<ProviderName>();
  /** Providers with a system key; everyone can use them. */
  readonly systemKeys = new Set<ProviderName>(PROVIDER_NAMES);
  /** Keys users added themselves. */
  readonly userKeys = new Map<string, Set<ProviderName>>();

  isHealthy(provider: ProviderName): boolean {
    return !this.down.has(provider);
  }

  hasCredential(userId: string | null, provider: ProviderName): boolean {
    if (provider === 'ollama' || this.systemKeys.has(provider)) return true;
    return userId !== null && (this.userKeys.get(userId)?.has(provider) ?? false);
  }

  isLocal(provider: ProviderName): boolean {
    return provider === 'ollama';
  }
}
