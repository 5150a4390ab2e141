import { describe, expect, it } from 'vitest';
import { classifyMessage } from '../../src/routing/classifier.ts';
import { ClassifierService, messageHash } from '../../src/routing/classifier-service.ts';
import { LruClassificationCache, valkeyClassificationCache } from '../../src/routing/classification-cache.ts';
import { Redis } from 'ioredis';
import { redisPrefix } from '../support/databases.ts';
import { LABELED_MESSAGES, type LabeledMessage } from './labeled-messages.ts';
import { HOLDOUT_MESSAGES } from './holdout-messages.ts';

function accuracy(set: LabeledMessage[]) {
  let task = 0;
  let complexity = 0;
  for (const m of set) {
    const c = classifyMessage({ text: m.text, ...(m.attachments ? { attachments: m.attachments } : {}) });
    if (c.taskType === m.taskType) task += 1;
    if (c.complexity === m.complexity) complexity += 1;
  }
  return { task: task / set.length, complexity: complexity / set.length };
}

describe('deterministic classifier', () => {
  it('the labeled set has at least 150 varied messages covering every task type and complexity', () => {
    expect(LABELED_MESSAGES.length).toBeGreaterThanOrEqual(150);
    for (const t of ['coding', 'research', 'summarization', 'qa', 'conversation', 'creative', 'analysis', 'translation']) {
      expect(LABELED_MESSAGES.filter((m) => m.taskType === t).length).toBeGreaterThanOrEqual(15);
    }
    for (const c of ['simple', 'moderate', 'complex']) expect(LABELED_MESSAGES.some((m) => m.complexity === c)).toBe(true);
  });

  // Measured: labeled set 100 % task type / 82.7 % complexity (the set the rules were tuned on);
  // held-out set 91.4 % / 80.0 % (written after tuning, never tuned on). Floors sit a little below.
  it('keeps its accuracy on the labeled set above the floor', () => {
    const acc = accuracy(LABELED_MESSAGES);
    expect(acc.task).toBeGreaterThanOrEqual(0.95);
    expect(acc.complexity).toBeGreaterThanOrEqual(0.75);
  });

  it('keeps its accuracy on the held-out set above the floor', () => {
    const acc = accuracy(HOLDOUT_MESSAGES);
    expect(acc.task).toBeGreaterThanOrEqual(0.85);
    expect(acc.complexity).toBeGreaterThanOrEqual(0.7);
  });

  it('is deterministic and gives a confidence in [0, 1]', () => {
    for (const m of LABELED_MESSAGES) {
      const a = classifyMessage({ text: m.text });
      expect(classifyMessage({ text: m.text })).toEqual(a);
      expect(a.confidence).toBeGreaterThanOrEqual(0);
      expect(a.confidence).toBeLessThanOrEqual(1);
    }
  });

  it('derives required capabilities: vision from images, tools from memory/search requests, context from size', () => {
    expect(classifyMessage({ text: 'what is in this picture?', attachments: [{ name: 'a.png', mimeType: 'image/png' }] }).capabilities.vision).toBe(true);
    expect(classifyMessage({ text: 'what is in this file?', attachments: [{ name: 'a.pdf', mimeType: 'application/pdf', sizeBytes: 1000 }] }).capabilities.vision).toBe(false);
    expect(classifyMessage({ text: 'Remember that I prefer metric units.' }).capabilities.tools).toBe(true);
    expect(classifyMessage({ text: 'Search the web for the latest news on fusion energy.' }).capabilities.tools).toBe(true);
    expect(classifyMessage({ text: 'Write a haiku about snow.' }).capabilities.tools).toBe(false);
    const huge = classifyMessage({ text: `Summarize this:\n${'All work and no play makes Jack a dull boy. '.repeat(20_000)}` });
    expect(huge.taskType).toBe('summarization');
    expect(huge.capabilities.minContextWindow).toBeGreaterThan(200_000);
    expect(classifyMessage({ text: 'hi' }).capabilities.minContextWindow).toBeLessThan(10_000);
  });

  it('reads domain from the message, and from the active agent when the message names none', () => {
    expect(classifyMessage({ text: 'Fix the TypeError in src/app.ts' }).domain).toBe('software');
    expect(classifyMessage({ text: 'What are the side effects of ibuprofen?' }).domain).toBe('health');
    expect(classifyMessage({ text: 'hello there', agentDomains: ['Legal'] }).domain).toBe('legal');
  });
});

describe('classifier model when the rules are unsure', () => {
  const unsure = 'Tell me about it.';
  const config = { enabled: true, belowConfidence: 0.99, timeoutMs: 200 };

  it('asks the model only below the confidence threshold, and caches its answer per message', async () => {
    const calls: string[] = [];
    const service = new ClassifierService({
      config: { ...config, belowConfidence: 0.5 },
      modelClassify: async (text) => (calls.push(text), { taskType: 'creative', complexity: 'moderate', confidence: 0.9 }),
    });
    const sure = await service.classify({ text: 'Write a Python function that reverses a string.' });
    expect(sure.source).toBe('rules');
    expect(calls).toEqual([]);
    expect(classifyMessage({ text: unsure }).confidence).toBeLessThan(0.5);
    const first = await service.classify({ text: unsure });
    const second = await service.classify({ text: unsure });
    expect(first).toMatchObject({ taskType: 'creative', complexity: 'moderate', source: 'model', confidence: 0.9 });
    expect(second).toEqual(first);
    expect(calls).toEqual([unsure]);
  });

  it('is bounded by the timeout and falls back to the rules with a note', async () => {
    let aborted = false;
    const service = new ClassifierService({
      config,
      modelClassify: (_text, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => (aborted = true));
          setTimeout(() => resolve({ taskType: 'coding' }), 5000).unref();
        }),
    });
    const c = await service.classify({ text: unsure });
    expect(c.source).toBe('rules');
    expect(c.taskType).toBe(classifyMessage({ text: unsure }).taskType);
    expect(c.note).toMatch(/classifier model unavailable \(no answer within 200 ms\)/);
    expect(aborted).toBe(true);
  });

  it('survives a failing or nonsensical model', async () => {
    const failing = new ClassifierService({ config, modelClassify: async () => { throw new Error('connection refused'); } });
    expect((await failing.classify({ text: unsure })).note).toMatch(/connection refused/);
    const nonsense = new ClassifierService({ config, modelClassify: async () => ({ taskType: 'poetry' as never }) });
    const c = await nonsense.classify({ text: unsure });
    expect(c.source).toBe('rules');
    expect(c.note).toMatch(/did not match/);
  });

  it('caches in Valkey, shared between instances', async () => {
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const prefix = redisPrefix('cls');
      let calls = 0;
      const modelClassify = async () => (calls++, { taskType: 'analysis' as const, complexity: 'complex' as const });
      const a = new ClassifierService({ config, modelClassify, cache: valkeyClassificationCache(redis, prefix) });
      const b = new ClassifierService({ config, modelClassify, cache: valkeyClassificationCache(redis, prefix) });
      expect((await a.classify({ text: unsure })).taskType).toBe('analysis');
      expect((await b.classify({ text: unsure })).taskType).toBe('analysis');
      expect(calls).toBe(1);
      const key = `${prefix}:routing:classification:${messageHash({ text: unsure })}`;
      expect(await redis.ttl(key)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('the LRU cache evicts the oldest entry', async () => {
    const lru = new LruClassificationCache(2);
    await lru.set('a', '1', 60);
    await lru.set('b', '2', 60);
    await lru.get('a');
    await lru.set('c', '3', 60);
    expect(await lru.get('b')).toBeNull();
    expect(await lru.get('a')).toBe('1');
    expect(await lru.get('c')).toBe('3');
  });
});
