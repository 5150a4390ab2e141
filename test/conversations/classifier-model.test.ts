/** The optional classifier model, wired through the running gateway. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClassification } from '../../src/agents/model-classifier.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let t: TestMosaic;
let token: string;

beforeAll(async () => {
  t = await startTestMosaic({ config: { routing: { classifierModel: { enabled: true, provider: 'openai', model: 'gpt-6-luna', timeoutMs: 1500, belowConfidence: 0.99 } } } });
  token = (await t.createUser('carol')).token;
}, 120_000);
afterAll(async () => t?.stop());

interface Explain {
  provider: string;
  model: string;
  reason: string;
  classification: { taskType: string; complexity: string };
}

describe('classifier model', () => {
  it('is asked when the rules are unsure, and its answer routes the message', async () => {
    t.simulators.openai.script({ text: '{"taskType":"translation","complexity":"simple","domain":"general"}' });
    const res = await t.api<Explain>(token, 'POST', '/api/routing/explain', { text: 'bonjour tout le monde, ça va?' });
    expect(res.status).toBe(200);
    expect(res.body.classification.taskType).toBe('translation');
    expect(res.body).toMatchObject({ provider: 'openai', model: 'gpt-6-luna' });
    const asked = t.simulators.openai.requests.filter((r) => r.kind === 'chat').at(-1)!.body as { model: string; input: Array<{ role?: string; content?: unknown }> };
    expect(asked.model).toBe('gpt-6-luna');
    expect(JSON.stringify(asked.input)).toContain('bonjour tout le monde');
  });

  it('its answer is cached per message: the same text does not ask again', async () => {
    const before = t.simulators.openai.requests.length;
    const res = await t.api<Explain>(token, 'POST', '/api/routing/explain', { text: 'bonjour tout le monde, ça va?' });
    expect(res.body.classification.taskType).toBe('translation');
    expect(t.simulators.openai.requests.length).toBe(before);
  });

  it('routing never fails because the classifier model is down', async () => {
    t.simulators.openai.failAll('server');
    try {
      const res = await t.api<Explain>(token, 'POST', '/api/routing/explain', { text: 'something completely different here' });
      expect(res.status).toBe(200);
      expect(res.body.provider).toBeTruthy();
    } finally {
      t.simulators.openai.failAll(null);
    }
  });

  it('only well-formed answers count', () => {
    expect(parseClassification('Sure! {"taskType":"coding","complexity":"complex","domain":"software"}')).toEqual({ taskType: 'coding', complexity: 'complex', domain: 'software' });
    expect(parseClassification('{"taskType":"poetry","complexity":"huge"}')).toEqual({});
    expect(parseClassification('no json here')).toEqual({});
  });
});
