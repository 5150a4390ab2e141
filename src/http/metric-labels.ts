/**
 * Label values for the operator's metrics, bounded by construction. A user
 * can name any model in /model and write any rule; a provider can answer
 * with a dated model id. Labels take only values the operator or the code
 * chose: models of the catalogue and the config, providers Mosaic has,
 * error kinds it defines, system rules by name; everything else collapses
 * into one `other` value, so no input can add a series.
 */
import type { MosaicConfig } from '../config/schema.ts';
import { PROVIDER_ERROR_KINDS } from '../providers/errors.ts';
import { PROVIDER_NAMES, type ProviderName } from '../providers/types.ts';
import { catalogueDirectory, directoryWithOverrides } from '../routing/catalogue-directory.ts';
import type { RoutingRecord } from '../metrics/metrics-port.ts';

export const OTHER = 'other';
/** For a label whose subject is missing (an answer no model was chosen for). */
export const NONE = 'none';

/** Whether a model may be a label value: known to the catalogue, or named in the config. */
export type KnownModel = (provider: string, model: string) => boolean;

/** The catalogue with the config's `models`, plus the models the config names elsewhere (fallback chain, classifier, embeddings). */
export function knownModels(config: MosaicConfig): KnownModel {
  const directory = directoryWithOverrides(config);
  const named = new Set<string>([
    ...config.routing.fallbackChain.map((m) => `${m.provider}\u0000${m.model}`),
    `${config.routing.classifierModel.provider}\u0000${config.routing.classifierModel.model}`,
    `${config.embeddings.provider}\u0000${config.embeddings.model}`,
  ]);
  return (provider, model) => named.has(`${provider}\u0000${model}`) || (PROVIDERS.has(provider) && directory.find(provider as ProviderName, model) !== undefined);
}

/** The catalogue alone (processes without a config at hand). */
export function allCatalogueModelsKnown(): KnownModel {
  const directory = catalogueDirectory();
  return (provider, model) => PROVIDERS.has(provider) && directory.find(provider as ProviderName, model) !== undefined;
}

const PROVIDERS: ReadonlySet<string> = new Set(PROVIDER_NAMES);
const ERROR_KINDS: ReadonlySet<string> = new Set(PROVIDER_ERROR_KINDS);

export class LabelPolicy {
  constructor(private readonly known: KnownModel) {}

  provider(provider: string | null): string {
    if (provider === null) return NONE;
    return PROVIDERS.has(provider) ? provider : OTHER;
  }

  model(provider: string | null, model: string | null | undefined): string {
    if (provider === null || model === null || model === undefined) return NONE;
    return this.known(provider, model) ? model : OTHER;
  }

  errorKind(kind: string): string {
    return ERROR_KINDS.has(kind) ? kind : OTHER;
  }

  /**
   * System rules by name (admins make them; a name is cut at 64 characters),
   * every user's own rules as one `user`. A system rule named like one of the
   * fixed values is prefixed, so the two never merge.
   */
  rule(by: RoutingRecord['by']): string {
    if (by.kind !== 'system') return by.kind;
    const name = by.name.slice(0, 64);
    return RESERVED_RULES.has(name) ? `system:${name}` : name;
  }
}

const RESERVED_RULES: ReadonlySet<string> = new Set(['user', 'pin', 'none']);
