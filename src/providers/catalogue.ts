/**
 * The checked-in capability matrix: what Mosaic knows about each model even
 * when a provider's listing says less. Prices are USD per million tokens
 * (list prices when written, checked 2026-11-25 against the providers' model
 * pages; a proxy or a discount plan may differ). Models a provider lists that
 * are not here get conservative defaults. `retiresAt` is the provider's
 * announced shutdown date; routing stops using a model on that day.
 */
import type { ModelInfo, ProviderName } from './types.ts';

type Entry = Omit<ModelInfo, 'provider' | 'source' | 'streaming'> & { streaming?: boolean };

const CATALOGUE: Record<ProviderName, Entry[]> = {
  // Claude 5.x: 1M context, 128K output. Opus 5.5 and Fable 5.x always think (see anthropic.ts on signed thinking).
  anthropic: [
    { id: 'claude-opus-5-5', displayName: 'Claude Opus 5.5', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 4, outputPricePerMTok: 20 },
    { id: 'claude-sonnet-5-5', displayName: 'Claude Sonnet 5.5', tier: 'standard', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 10 },
    // Tiered: these are the prices for prompts up to 100K tokens; above that Anthropic charges 5x.
    { id: 'claude-haiku-5-5', displayName: 'Claude Haiku 5.5', tier: 'economy', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.1, outputPricePerMTok: 0.5 },
    { id: 'claude-fable-5-2', displayName: 'Claude Fable 5.2', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 8, outputPricePerMTok: 40 },
    { id: 'claude-fable-5-1', displayName: 'Claude Fable 5.1', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 10, outputPricePerMTok: 50 },
    { id: 'claude-opus-5', displayName: 'Claude Opus 5', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 5, outputPricePerMTok: 25 },
    { id: 'claude-sonnet-5', displayName: 'Claude Sonnet 5', tier: 'standard', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 10 },
    { id: 'claude-opus-4-7', displayName: 'Claude Opus 4.7', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 5, outputPricePerMTok: 25 },
    { id: 'claude-opus-4-6', displayName: 'Claude Opus 4.6', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 5, outputPricePerMTok: 25 },
    { id: 'claude-sonnet-4-6', displayName: 'Claude Sonnet 4.6', tier: 'standard', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 3, outputPricePerMTok: 15 },
    { id: 'claude-haiku-4-5', displayName: 'Claude Haiku 4.5', tier: 'economy', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 1, outputPricePerMTok: 5 },
    // Deprecated or retired: kept so a rule or pin naming them gets "retired on …" rather than "unknown model".
    { id: 'claude-opus-4-5', displayName: 'Claude Opus 4.5', tier: 'premium', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 5, outputPricePerMTok: 25, retiresAt: '2027-01-22' },
    { id: 'claude-sonnet-4-5', displayName: 'Claude Sonnet 4.5', tier: 'standard', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 3, outputPricePerMTok: 15, retiresAt: '2026-11-30' },
    { id: 'claude-opus-4-1', displayName: 'Claude Opus 4.1', tier: 'premium', contextWindow: 200_000, maxOutput: 32_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 15, outputPricePerMTok: 75, retiresAt: '2026-08-05' },
    { id: 'claude-sonnet-4', displayName: 'Claude Sonnet 4', tier: 'standard', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 3, outputPricePerMTok: 15, retiresAt: '2026-06-15' },
  ],
  // GPT-6.x: 1.05M context, 128K output; input past 272K tokens is billed higher (not modelled here).
  openai: [
    { id: 'gpt-6.2-astra', displayName: 'GPT-6.2 Astra', tier: 'premium', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 8, outputPricePerMTok: 40 },
    { id: 'gpt-6.2-sol', displayName: 'GPT-6.2 Sol', tier: 'standard', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 10 },
    { id: 'gpt-6.1-sol', displayName: 'GPT-6.1 Sol', tier: 'standard', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 10 },
    { id: 'gpt-6.1-terra', displayName: 'GPT-6.1 Terra', tier: 'economy', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 1, outputPricePerMTok: 5 },
    { id: 'gpt-6-astra', displayName: 'GPT-6 Astra', tier: 'premium', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 10, outputPricePerMTok: 50 },
    { id: 'gpt-6-sol', displayName: 'GPT-6 Sol', tier: 'standard', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 10 },
    { id: 'gpt-6-luna', displayName: 'GPT-6 Luna', tier: 'economy', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.1, outputPricePerMTok: 0.5 },
    { id: 'gpt-5', displayName: 'GPT-5', tier: 'premium', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 1.25, outputPricePerMTok: 10, retiresAt: '2026-12-11' },
    { id: 'gpt-5-mini', displayName: 'GPT-5 mini', tier: 'economy', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.25, outputPricePerMTok: 2, retiresAt: '2026-12-11' },
    { id: 'gpt-5-nano', displayName: 'GPT-5 nano', tier: 'economy', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.05, outputPricePerMTok: 0.4, retiresAt: '2026-12-11' },
    { id: 'o3', displayName: 'o3', tier: 'premium', contextWindow: 200_000, maxOutput: 100_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 8, retiresAt: '2026-12-11' },
    { id: 'gpt-4.1', displayName: 'GPT-4.1', tier: 'standard', contextWindow: 1_047_576, maxOutput: 32_768, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 8, retiresAt: '2027-01-14' },
    { id: 'gpt-4.1-mini', displayName: 'GPT-4.1 mini', tier: 'economy', contextWindow: 1_047_576, maxOutput: 32_768, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.4, outputPricePerMTok: 1.6, retiresAt: '2027-01-14' },
    { id: 'text-embedding-3-small', displayName: 'text-embedding-3-small', tier: 'economy', contextWindow: 8191, maxOutput: 0, tools: false, vision: false, streaming: false, embedding: true, inputPricePerMTok: 0.02, outputPricePerMTok: 0 },
    { id: 'text-embedding-3-large', displayName: 'text-embedding-3-large', tier: 'standard', contextWindow: 8191, maxOutput: 0, tools: false, vision: false, streaming: false, embedding: true, inputPricePerMTok: 0.13, outputPricePerMTok: 0 },
  ],
  // OpenRouter ids use dotted versions and pass provider prices through.
  openrouter: [
    { id: 'anthropic/claude-opus-5.5', displayName: 'Anthropic: Claude Opus 5.5', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 4, outputPricePerMTok: 20 },
    { id: 'anthropic/claude-sonnet-5.5', displayName: 'Anthropic: Claude Sonnet 5.5', tier: 'standard', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 10 },
    { id: 'openai/gpt-6-luna', displayName: 'OpenAI: GPT-6 Luna', tier: 'economy', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.1, outputPricePerMTok: 0.5 },
    { id: 'openai/gpt-6.2-sol', displayName: 'OpenAI: GPT-6.2 Sol', tier: 'standard', contextWindow: 1_050_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 10 },
    { id: 'z-ai/glm-5.3', displayName: 'Z.AI: GLM 5.3', tier: 'premium', contextWindow: 1_048_576, maxOutput: 131_072, tools: true, vision: false, embedding: false, inputPricePerMTok: 1.4, outputPricePerMTok: 4.4 },
    { id: 'google/gemini-2.5-flash', displayName: 'Google: Gemini 2.5 Flash', tier: 'economy', contextWindow: 1_048_576, maxOutput: 65_535, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.3, outputPricePerMTok: 2.5 },
    { id: 'meta-llama/llama-3.3-70b-instruct', displayName: 'Meta: Llama 3.3 70B Instruct', tier: 'economy', contextWindow: 131_072, maxOutput: 16_384, tools: true, vision: false, embedding: false, inputPricePerMTok: 0.13, outputPricePerMTok: 0.4 },
    { id: 'z-ai/glm-4.6', displayName: 'Z.AI: GLM 4.6', tier: 'standard', contextWindow: 202_752, maxOutput: 128_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 0.6, outputPricePerMTok: 2.2 },
    { id: 'anthropic/claude-sonnet-4.5', displayName: 'Anthropic: Claude Sonnet 4.5', tier: 'standard', contextWindow: 1_000_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 3, outputPricePerMTok: 15, retiresAt: '2026-11-30' },
    { id: 'openai/gpt-5-mini', displayName: 'OpenAI: GPT-5 Mini', tier: 'economy', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.25, outputPricePerMTok: 2, retiresAt: '2026-12-11' },
  ],
  zai: [
    { id: 'glm-5.3', displayName: 'GLM-5.3', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 1.4, outputPricePerMTok: 4.4 },
    { id: 'glm-5.2', displayName: 'GLM-5.2', tier: 'premium', contextWindow: 1_000_000, maxOutput: 128_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 1.4, outputPricePerMTok: 4.4 },
    { id: 'glm-5', displayName: 'GLM-5', tier: 'premium', contextWindow: 200_000, maxOutput: 128_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 1, outputPricePerMTok: 3.2 },
    { id: 'glm-5v-turbo', displayName: 'GLM-5V-Turbo', tier: 'standard', contextWindow: 200_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 1.2, outputPricePerMTok: 4 },
    { id: 'glm-4.6', displayName: 'GLM-4.6', tier: 'standard', contextWindow: 200_000, maxOutput: 128_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 0.6, outputPricePerMTok: 2.2 },
    { id: 'glm-4.5-air', displayName: 'GLM-4.5-Air', tier: 'economy', contextWindow: 128_000, maxOutput: 96_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 0.2, outputPricePerMTok: 1.1 },
    { id: 'glm-4.5v', displayName: 'GLM-4.5V', tier: 'standard', contextWindow: 64_000, maxOutput: 16_384, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.6, outputPricePerMTok: 1.8 },
    { id: 'embedding-3', displayName: 'Embedding-3', tier: 'economy', contextWindow: 8192, maxOutput: 0, tools: false, vision: false, streaming: false, embedding: true, inputPricePerMTok: 0.07, outputPricePerMTok: 0 },
  ],
  ollama: [
    { id: 'llama3.2', displayName: 'Llama 3.2 (local)', tier: 'economy', contextWindow: 131_072, maxOutput: 8192, tools: true, vision: false, embedding: false, inputPricePerMTok: 0, outputPricePerMTok: 0 },
    { id: 'qwen2.5-coder', displayName: 'Qwen2.5 Coder (local)', tier: 'economy', contextWindow: 32_768, maxOutput: 8192, tools: true, vision: false, embedding: false, inputPricePerMTok: 0, outputPricePerMTok: 0 },
    { id: 'llava', displayName: 'LLaVA (local, vision)', tier: 'economy', contextWindow: 4096, maxOutput: 2048, tools: false, vision: true, embedding: false, inputPricePerMTok: 0, outputPricePerMTok: 0 },
    { id: 'nomic-embed-text', displayName: 'nomic-embed-text (local embeddings)', tier: 'economy', contextWindow: 8192, maxOutput: 0, tools: false, vision: false, streaming: false, embedding: true, inputPricePerMTok: 0, outputPricePerMTok: 0 },
  ],
};

const BY_PROVIDER = new Map<ProviderName, Map<string, ModelInfo>>(
  (Object.keys(CATALOGUE) as ProviderName[]).map((provider) => [
    provider,
    new Map(CATALOGUE[provider].map((e) => [e.id, { provider, streaming: true, ...e, source: 'catalogue' as const }])),
  ]),
);

/** Every catalogue model of every provider. */
export function allCatalogueModels(): ModelInfo[] {
  return [...BY_PROVIDER.values()].flatMap((m) => [...m.values()].map((x) => ({ ...x })));
}

export function catalogueModels(provider: ProviderName): ModelInfo[] {
  return [...(BY_PROVIDER.get(provider)?.values() ?? [])].map((x) => ({ ...x }));
}

/**
 * The catalogue id a provider's model id stands for: a dated snapshot
 * (`claude-sonnet-4-5-20250929`, `gpt-4.1-2025-04-14`), an Ollama tag
 * (`llama3.2:latest`, `llava:7b`) or an OpenRouter variant (`…:free`)
 * resolves to its family entry.
 */
export function canonicalModelId(provider: ProviderName, id: string): string {
  let out = id.trim();
  if (provider === 'ollama' || provider === 'openrouter') out = out.replace(/:[^/]*$/, '');
  out = out.replace(/-(20\d{6}|20\d\d-\d\d-\d\d)$/, '');
  return out;
}

/** The catalogue entry for a model, or undefined when Mosaic knows nothing about it. */
export function findModel(provider: ProviderName, id: string): ModelInfo | undefined {
  const models = BY_PROVIDER.get(provider);
  if (!models) return undefined;
  const hit = models.get(id) ?? models.get(canonicalModelId(provider, id));
  return hit ? { ...hit, ...(hit.id !== id ? { id } : {}) } : undefined;
}

/** What Mosaic assumes about a listed model it has no entry for: small, tool-less, text-only. */
export function conservativeDefaults(provider: ProviderName, id: string, known: Partial<ModelInfo> = {}): ModelInfo {
  const embedding = known.embedding ?? /embed/i.test(id);
  return {
    provider,
    id,
    displayName: known.displayName ?? id,
    tier: known.tier ?? 'standard',
    contextWindow: known.contextWindow ?? 8192,
    maxOutput: known.maxOutput ?? (embedding ? 0 : 4096),
    tools: known.tools ?? false,
    vision: known.vision ?? false,
    streaming: known.streaming ?? !embedding,
    embedding,
    inputPricePerMTok: known.inputPricePerMTok ?? (provider === 'ollama' ? 0 : 0),
    outputPricePerMTok: known.outputPricePerMTok ?? 0,
    ...(known.retiresAt ? { retiresAt: known.retiresAt } : {}),
    source: 'listed',
  };
}

/**
 * Merges what a provider listed with the catalogue: listed models the
 * catalogue knows become `both` (catalogue facts win, the listing fills
 * gaps); unknown listed models get conservative defaults (`listed`);
 * catalogue models the provider did not list stay `catalogue`.
 */
export function mergeWithCatalogue(provider: ProviderName, listed: Array<{ id: string } & Partial<ModelInfo>>): ModelInfo[] {
  const out = new Map<string, ModelInfo>();
  for (const item of listed) {
    const known = findModel(provider, item.id);
    // The provider's own retirement date is fresher than ours.
    out.set(item.id, known ? { ...known, ...(item.retiresAt ? { retiresAt: item.retiresAt } : {}), id: item.id, source: 'both' } : conservativeDefaults(provider, item.id, item));
  }
  const listedCanon = new Set(listed.map((l) => canonicalModelId(provider, l.id)));
  for (const model of catalogueModels(provider)) {
    if (!out.has(model.id) && !listedCanon.has(model.id)) out.set(model.id, model);
  }
  return [...out.values()];
}
