/**
 * OpenAI through the `openai` SDK: chat over the Responses API (see
 * openai-responses.ts for why), model listing, health and embeddings as for
 * every OpenAI-compatible provider.
 */
import type { Model } from 'openai/resources/models';
import { OpenAICompatibleAdapter, type ListedModel, type OpenAIFlavor } from './openai-compatible.ts';
import { streamResponse } from './openai-responses.ts';
import type { Heartbeat } from './stream-guard.ts';
import type { AdapterOptions, CloudProviderSettings } from './base.ts';
import type { ChatEvent, ChatRequest } from './types.ts';

/**
 * OpenAI's API reference lists `shutdown_date` (YYYY-MM-DD, or null when none
 * is announced) on model objects; the SDK's `Model` type does not have it yet.
 */
type ListedOpenAIModel = Model & { shutdown_date?: string | null };

export function parseOpenAIModel(raw: Record<string, unknown>): ListedModel {
  const m = raw as unknown as ListedOpenAIModel;
  const retires = typeof m.shutdown_date === 'string' && !Number.isNaN(Date.parse(m.shutdown_date)) ? m.shutdown_date : undefined;
  return { id: m.id, ...(retires ? { retiresAt: retires } : {}) };
}

export const OPENAI_FLAVOR: OpenAIFlavor = {
  name: 'openai',
  maxTokensParam: 'max_completion_tokens',
  embeddings: true,
  parseListed: parseOpenAIModel,
  errorKind: (code, status) => {
    if (code === 'context_length_exceeded' || code === 'string_above_max_length') return 'context_length';
    if (code === 'insufficient_quota') return 'auth';
    // Codes of errors reported inside a stream (no HTTP status): a Responses `error` event or a failed response.
    if (status === undefined) {
      if (code === 'rate_limit_exceeded') return 'rate_limit';
      if (code === 'server_error') return 'unavailable';
      if (code === 'invalid_prompt' || code?.startsWith('image_') || code?.startsWith('invalid_') || code === 'bio_policy') return 'bad_request';
    }
    return undefined;
  },
};

export class OpenAIAdapter extends OpenAICompatibleAdapter {
  /** Off once OpenAI refused reasoning summaries for this account (unverified organisation); asking again only costs a round trip. */
  private summaries = true;

  constructor(options: AdapterOptions<CloudProviderSettings>) {
    super(OPENAI_FLAVOR, options);
  }

  protected override attempt(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent | Heartbeat> {
    return streamResponse(this.client(request.credential), request, signal, {
      ...(this.flavor.errorKind ? { errorKind: this.flavor.errorKind } : {}),
      // A user's own key may belong to another organisation: only the system key's refusal is remembered.
      summaries: this.summaries || request.credential?.source === 'user',
      onSummariesRefused: () => {
        if (request.credential?.source === 'user') return;
        this.summaries = false;
        this.options.logger.warn({ provider: this.name, event: 'openai.summaries_refused' }, 'OpenAI refused reasoning summaries (organisation not verified); asking without them from now on');
      },
    });
  }
}

export function createOpenAIAdapter(options: AdapterOptions<CloudProviderSettings>): OpenAIAdapter {
  return new OpenAIAdapter(options);
}
