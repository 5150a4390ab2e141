/**
 * The checked-in capability matrix as a ModelDirectory. The catalogue is
 * static, so lookups are memoised: the router asks several times per
 * decision. When the provider layer merges live model listings, the lead
 * can pass a directory built from those instead.
 */
import { allCatalogueModels, findModel } from '../providers/catalogue.ts';
import type { ModelDirectory, ModelInfo, ProviderName } from './types.ts';

export function catalogueDirectory(): ModelDirectory {
  const memo = new Map<string, ModelInfo | null>();
  const all = allCatalogueModels();
  return {
    find(provider: ProviderName, model: string) {
      const key = `${provider}\u0000${model}`;
      let hit = memo.get(key);
      if (hit === undefined) {
        hit = findModel(provider, model) ?? null;
        if (memo.size < 10_000) memo.set(key, hit);
      }
      return hit ?? undefined;
    },
    list: () => all,
  };
}

/** A directory over a fixed list (models merged from live listings, or a test's own matrix). */
export function listDirectory(models: readonly ModelInfo[]): ModelDirectory {
  const byKey = new Map(models.map((m) => [`${m.provider}\u0000${m.id}`, m]));
  return { find: (provider, model) => byKey.get(`${provider}\u0000${model}`), list: () => [...models] };
}
