/**
 * Provider availability from configuration alone: a provider counts as
 * healthy when it is enabled, and as having a credential when a system key
 * is configured (Ollama needs none) or the user has a key of their own.
 * Used by `mosaic route` and until the provider layer's health tracker is
 * wired in; it never probes, so "healthy" here means "configured".
 */
import type { MosaicConfig } from '../config/schema.ts';
import type { ProviderAvailability, ProviderName } from './types.ts';

export interface ConfigAvailabilityOptions {
  /** Whether a user stored their own key for a provider (the credential vault). */
  userHasKey?: (userId: string, provider: ProviderName) => Promise<boolean> | boolean;
  /** Live health for a user (null: the system's view), when known; without it an enabled provider counts as healthy. */
  isHealthy?: (provider: ProviderName, userId: string | null) => Promise<boolean> | boolean;
}

export function configAvailability(config: Pick<MosaicConfig, 'providers'>, options: ConfigAvailabilityOptions = {}): ProviderAvailability {
  const systemKey = (p: ProviderName): boolean => {
    if (p === 'ollama') return true;
    const c = config.providers[p];
    return Boolean(c.apiKey || c.apiKeyFile);
  };
  return {
    isHealthy: (p, userId) => (config.providers[p].enabled ? (options.isHealthy ? options.isHealthy(p, userId ?? null) : true) : false),
    async hasCredential(userId, p) {
      if (systemKey(p)) return true;
      return userId !== null && options.userHasKey ? await options.userHasKey(userId, p) : false;
    },
    isLocal: (p) => p === 'ollama',
    isEnabled: (p) => config.providers[p].enabled,
  };
}
