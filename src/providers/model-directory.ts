/**
 * The models each provider offers: its own listing (cached) merged with the
 * catalogue, or the catalogue alone when the provider cannot be listed (no
 * system key, or the listing failed).
 */
import type { Logger } from '../logging.ts';
import { catalogueModels } from './catalogue.ts';
import { errorMessage } from '../errors.ts';
import type { ProviderRegistry } from './registry.ts';
import type { ModelInfo, ProviderName } from './types.ts';

export interface ProviderModels {
  provider: ProviderName;
  models: ModelInfo[];
  /** True when the provider's own listing is part of the answer. */
  listed: boolean;
  listingError?: string;
  fetchedAt: number;
}

export class ModelDirectory {
  private readonly cache = new Map<ProviderName, ProviderModels>();
  private readonly inflight = new Map<ProviderName, Promise<ProviderModels>>();

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly options: { ttlMs?: number; failureTtlMs?: number; clock?: () => number; logger?: Logger } = {},
  ) {}

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  async forProvider(provider: ProviderName): Promise<ProviderModels> {
    const cached = this.cache.get(provider);
    const ttl = cached?.listed === false && cached.listingError ? (this.options.failureTtlMs ?? 30_000) : (this.options.ttlMs ?? 300_000);
    if (cached && this.now() - cached.fetchedAt < ttl) return cached;
    let pending = this.inflight.get(provider);
    if (!pending) {
      pending = this.fetch(provider).finally(() => this.inflight.delete(provider));
      this.inflight.set(provider, pending);
    }
    return pending;
  }

  async all(): Promise<ProviderModels[]> {
    return Promise.all(this.registry.list().map((a) => this.forProvider(a.name)));
  }

  invalidate(provider?: ProviderName): void {
    if (provider) this.cache.delete(provider);
    else this.cache.clear();
  }

  private async fetch(provider: ProviderName): Promise<ProviderModels> {
    const adapter = this.registry.get(provider);
    let entry: ProviderModels;
    if (!adapter || !adapter.hasSystemCredential()) {
      entry = { provider, models: catalogueModels(provider), listed: false, fetchedAt: this.now() };
    } else {
      try {
        entry = { provider, models: await adapter.listModels(), listed: true, fetchedAt: this.now() };
      } catch (err) {
        this.options.logger?.warn({ provider, err: errorMessage(err) }, 'model listing failed; using the catalogue');
        entry = { provider, models: catalogueModels(provider), listed: false, listingError: errorMessage(err), fetchedAt: this.now() };
      }
    }
    this.cache.set(provider, entry);
    return entry;
  }
}
