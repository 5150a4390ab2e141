/**
 * OpenRouter through the `openai` SDK. Its quirks: attribution headers
 * (HTTP-Referer, X-Title), a models endpoint with per-token prices as
 * strings, context length and supported parameters, reasoning deltas in
 * `delta.reasoning`, errors mid-stream as a chunk with an `error` field, and
 * 402 when the account is out of credit.
 */
import { OpenAICompatibleAdapter, type ListedModel, type OpenAIFlavor } from './openai-compatible.ts';
import type { AdapterOptions, CloudProviderSettings } from './base.ts';

interface OpenRouterModel {
  id: string;
  name?: string;
  context_length?: number | null;
  pricing?: { prompt?: string; completion?: string };
  top_provider?: { context_length?: number | null; max_completion_tokens?: number | null };
  architecture?: { input_modalities?: string[]; output_modalities?: string[] };
  supported_parameters?: string[];
}

const perMTok = (perToken: string | undefined): number | undefined => {
  if (perToken === undefined) return undefined;
  const n = Number(perToken);
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1_000_000 * 1e6) / 1e6 : undefined;
};

export function parseOpenRouterModel(raw: Record<string, unknown>): ListedModel {
  const m = raw as unknown as OpenRouterModel;
  const input = perMTok(m.pricing?.prompt);
  const output = perMTok(m.pricing?.completion);
  const context = m.context_length ?? m.top_provider?.context_length ?? undefined;
  const out: ListedModel = { id: m.id };
  if (m.name) out.displayName = m.name;
  if (context) out.contextWindow = context;
  if (m.top_provider?.max_completion_tokens) out.maxOutput = m.top_provider.max_completion_tokens;
  if (input !== undefined) out.inputPricePerMTok = input;
  if (output !== undefined) out.outputPricePerMTok = output;
  if (m.supported_parameters) out.tools = m.supported_parameters.includes('tools');
  if (m.architecture?.input_modalities) out.vision = m.architecture.input_modalities.includes('image');
  if (m.architecture?.output_modalities) out.embedding = m.architecture.output_modalities.includes('embeddings');
  if (input !== undefined && output !== undefined) out.tier = input + output >= 20 ? 'premium' : input + output >= 3 ? 'standard' : 'economy';
  return out;
}

export const OPENROUTER_FLAVOR: OpenAIFlavor = {
  name: 'openrouter',
  maxTokensParam: 'max_tokens',
  embeddings: false,
  headers: (o) => ({ ...(o.appUrl ? { 'HTTP-Referer': o.appUrl } : {}), 'X-Title': o.appName ?? 'Mosaic' }),
  parseListed: parseOpenRouterModel,
  errorKind: (_code, status, message) => {
    if (status === 402) return 'auth';
    if (/context length|maximum context/i.test(message)) return 'context_length';
    return undefined;
  },
};

export function createOpenRouterAdapter(options: AdapterOptions<CloudProviderSettings>): OpenAICompatibleAdapter {
  return new OpenAICompatibleAdapter(OPENROUTER_FLAVOR, options);
}
