/**
 * The checked-in capability matrix as a ModelDirectory. The catalogue is
 * static, so lookups are memoised: the router asks several times per
 * decision. When the provider layer merges live model listings, the lead
 * can pass a directory built from those instead.
 */
import type { MosaicConfig } from '../config/schema.ts';
import { allCatalogueModels, conservativeDefaults, findModel } from '../providers/catalogue.ts';
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

/** The capability matrix with the operator's additions and corrections (`models` in the config). */
export function directoryWithOverrides(config: MosaicConfig): ModelDirectory {
  const base = catalogueDirectory();
  if (config.models.length === 0) return base;
  const overrides = new Map<string, ModelInfo>();
  for (const o of config.models) {
    const known = findModel(o.provider, o.id);
    const { provider, id, ...rest } = o;
    const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<ModelInfo>;
    overrides.set(`${provider}\u0000${id}`, known ? { ...known, ...defined, source: known.source } : conservativeDefaults(provider, id, defined));
  }
  const merged = [...base.list().filter((m) => !overrides.has(`${m.provider}\u0000${m.id}`)), ...overrides.values()];
  return {
    find: (provider, model) => overrides.get(`${provider}\u0000${model}`) ?? base.find(provider, model),
    list: () => merged,
  };
}
