/**
 * The checked-in capability matrix: what Mosaic knows about each model even
 * when a provider's listing says less. Prices are USD per million tokens
 * (list prices when written; a proxy or a discount plan may differ). Models a
 * provider lists that are not here get conservative defaults.
 */
import type { ModelInfo, ProviderName } from './types.ts';

type Entry = Omit<ModelInfo, 'provider' | 'source' | 'streaming'> & { streaming?: boolean };

const CATALOGUE: Record<ProviderName, Entry[]> = {
  anthropic: [
    { id: 'claude-opus-4-5', displayName: 'Claude Opus 4.5', tier: 'premium', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 5, outputPricePerMTok: 25 },
    { id: 'claude-sonnet-4-5', displayName: 'Claude Sonnet 4.5', tier: 'standard', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 3, outputPricePerMTok: 15 },
    { id: 'claude-haiku-4-5', displayName: 'Claude Haiku 4.5', tier: 'economy', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 1, outputPricePerMTok: 5 },
    { id: 'claude-opus-4-1', displayName: 'Claude Opus 4.1', tier: 'premium', contextWindow: 200_000, maxOutput: 32_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 15, outputPricePerMTok: 75 },
    { id: 'claude-sonnet-4', displayName: 'Claude Sonnet 4', tier: 'standard', contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 3, outputPricePerMTok: 15 },
  ],
  openai: [
    { id: 'gpt-5', displayName: 'GPT-5', tier: 'premium', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 1.25, outputPricePerMTok: 10 },
    { id: 'gpt-5-mini', displayName: 'GPT-5 mini', tier: 'economy', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.25, outputPricePerMTok: 2 },
    { id: 'gpt-5-nano', displayName: 'GPT-5 nano', tier: 'economy', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.05, outputPricePerMTok: 0.4 },
    { id: 'gpt-4.1', displayName: 'GPT-4.1', tier: 'standard', contextWindow: 1_047_576, maxOutput: 32_768, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 8 },
    { id: 'gpt-4.1-mini', displayName: 'GPT-4.1 mini', tier: 'economy', contextWindow: 1_047_576, maxOutput: 32_768, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.4, outputPricePerMTok: 1.6 },
    { id: 'o3', displayName: 'o3', tier: 'premium', contextWindow: 200_000, maxOutput: 100_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 2, outputPricePerMTok: 8 },
    { id: 'text-embedding-3-small', displayName: 'text-embedding-3-small', tier: 'economy', contextWindow: 8191, maxOutput: 0, tools: false, vision: false, streaming: false, embedding: true, inputPricePerMTok: 0.02, outputPricePerMTok: 0 },
    { id: 'text-embedding-3-large', displayName: 'text-embedding-3-large', tier: 'standard', contextWindow: 8191, maxOutput: 0, tools: false, vision: false, streaming: false, embedding: true, inputPricePerMTok: 0.13, outputPricePerMTok: 0 },
  ],
  openrouter: [
    { id: 'anthropic/claude-sonnet-4.5', displayName: 'Anthropic: Claude Sonnet 4.5', tier: 'standard', contextWindow: 1_000_000, maxOutput: 64_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 3, outputPricePerMTok: 15 },
    { id: 'openai/gpt-5-mini', displayName: 'OpenAI: GPT-5 Mini', tier: 'economy', contextWindow: 400_000, maxOutput: 128_000, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.25, outputPricePerMTok: 2 },
    { id: 'google/gemini-2.5-flash', displayName: 'Google: Gemini 2.5 Flash', tier: 'economy', contextWindow: 1_048_576, maxOutput: 65_535, tools: true, vision: true, embedding: false, inputPricePerMTok: 0.3, outputPricePerMTok: 2.5 },
    { id: 'meta-llama/llama-3.3-70b-instruct', displayName: 'Meta: Llama 3.3 70B Instruct', tier: 'economy', contextWindow: 131_072, maxOutput: 16_384, tools: true, vision: false, embedding: false, inputPricePerMTok: 0.13, outputPricePerMTok: 0.4 },
    { id: 'z-ai/glm-4.6', displayName: 'Z.AI: GLM 4.6', tier: 'standard', contextWindow: 202_752, maxOutput: 128_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 0.6, outputPricePerMTok: 2.2 },
  ],
  zai: [
    { id: 'glm-5', displayName: 'GLM-5', tier: 'premium', contextWindow: 200_000, maxOutput: 128_000, tools: true, vision: false, embedding: false, inputPricePerMTok: 1, outputPricePerMTok: 3.2 },
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
