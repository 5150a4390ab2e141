/** OpenAI through the `openai` SDK. */
import { OpenAICompatibleAdapter, type OpenAIFlavor } from './openai-compatible.ts';
import type { AdapterOptions, CloudProviderSettings } from './base.ts';

export const OPENAI_FLAVOR: OpenAIFlavor = {
  name: 'openai',
  maxTokensParam: 'max_completion_tokens',
  embeddings: true,
  errorKind: (code) => {
    if (code === 'context_length_exceeded' || code === 'string_above_max_length') return 'context_length';
    if (code === 'insufficient_quota') return 'auth';
    return undefined;
  },
};

export function createOpenAIAdapter(options: AdapterOptions<CloudProviderSettings>): OpenAICompatibleAdapter {
  return new OpenAICompatibleAdapter(OPENAI_FLAVOR, options);
}
