/**
 * Classification as routing uses it: the deterministic classifier first;
 * when it is unsure and the config allows, a cheap model is asked. The
 * model's answer is cached per message hash and bounded by a timeout, and
 * any failure falls back to the deterministic answer with a note, so
 * routing never fails because the classifier model is down.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errorMessage } from '../errors.ts';
import { classifyMessage, type ClassifyInput } from './classifier.ts';
import { LruClassificationCache, type ClassificationCache } from './classification-cache.ts';
import { COMPLEXITIES, TASK_TYPES, type Classification } from './types.ts';

/** Asks a model to classify; the provider layer supplies it. Must honour the signal. */
export type ModelClassify = (text: string, signal: AbortSignal) => Promise<Partial<Classification>>;

export interface ClassifierModelConfig {
  enabled: boolean;
  belowConfidence: number;
  timeoutMs: number;
}

export interface ClassifierServiceOptions {
  config: ClassifierModelConfig;
  modelClassify?: ModelClassify;
  cache?: ClassificationCache;
  /** How long a model answer is reused for the same message. */
  cacheTtlSeconds?: number;
}

const modelAnswerSchema = z.object({
  taskType: z.enum(TASK_TYPES).optional(),
  complexity: z.enum(COMPLEXITIES).optional(),
  domain: z.string().min(1).max(40).optional(),
  confidence: z.number().min(0).max(1).optional(),
});
type ModelAnswer = z.infer<typeof modelAnswerSchema>;

/** The hash covers everything the deterministic classifier reads, so a cached answer always fits its message. */
export function messageHash(input: ClassifyInput): string {
  const h = createHash('sha256');
  h.update(input.text);
  for (const a of input.attachments ?? []) h.update(`\u0000${a.name}\u0000${a.mimeType}\u0000${a.sizeBytes ?? ''}`);
  return h.digest('hex');
}

export class ClassifierService {
  private readonly cache: ClassificationCache;
  private readonly ttl: number;

  constructor(private readonly options: ClassifierServiceOptions) {
    this.cache = options.cache ?? new LruClassificationCache();
    this.ttl = options.cacheTtlSeconds ?? 7 * 24 * 3600;
  }

  /** True when classification may await a model; the router then stays on its async path. */
  get mayAskModel(): boolean {
    return this.options.config.enabled && this.options.modelClassify !== undefined;
  }

  /** Synchronous when the rules are sure enough (or the model is off): the hot path never waits on a promise. */
  classify(input: ClassifyInput): Classification | Promise<Classification> {
    const base = classifyMessage(input);
    if (!this.options.config.enabled || base.confidence >= this.options.config.belowConfidence) return base;
    if (!this.options.modelClassify) return { ...base, note: 'classifier model enabled but not connected; rules only' };
    return this.withModel(input, base);
  }

  private async withModel(input: ClassifyInput, base: Classification): Promise<Classification> {
    const key = messageHash(input);
    let answer: ModelAnswer | null = null;
    try {
      const cached = await this.cache.get(key);
      if (cached !== null) answer = modelAnswerSchema.parse(JSON.parse(cached));
    } catch {
      answer = null; // an unreadable cache entry is a miss
    }
    if (!answer) {
      try {
        answer = await this.askModel(input.text);
      } catch (err) {
        return { ...base, note: `classifier model unavailable (${errorMessage(err)}); rules only` };
      }
      await this.cache.set(key, JSON.stringify(answer), this.ttl).catch(() => undefined);
    }
    if (answer.taskType === undefined && answer.complexity === undefined) return { ...base, note: 'classifier model gave no usable answer; rules only' };
    return {
      ...base,
      taskType: answer.taskType ?? base.taskType,
      complexity: answer.complexity ?? base.complexity,
      domain: answer.domain?.toLowerCase() ?? base.domain,
      confidence: answer.confidence ?? Math.max(base.confidence, 0.8),
      source: 'model',
    };
  }

  private async askModel(text: string): Promise<ModelAnswer> {
    const { timeoutMs } = this.options.config;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const raw = await Promise.race([this.options.modelClassify!(text, controller.signal), timeout]);
      const parsed = modelAnswerSchema.safeParse(raw);
      if (!parsed.success) throw new Error('answer did not match the classification shape');
      return parsed.data;
    } finally {
      clearTimeout(timer);
    }
  }
}
