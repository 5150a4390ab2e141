/**
 * Replies scale with the machine: the reply concurrency follows the cores
 * and the database pool unless configured, and an answer that hangs on its
 * model does not hold up other conversations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultReplyConcurrency } from '../../src/conversations/reply-job.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

describe('the default reply concurrency', () => {
  it('is 16 per core, at most 4 per PostgreSQL connection, and never below the job default', () => {
    expect(defaultReplyConcurrency(2, 10)).toBe(32);
    expect(defaultReplyConcurrency(8, 10)).toBe(40);
    expect(defaultReplyConcurrency(8, null)).toBe(128);
    expect(defaultReplyConcurrency(1, 1)).toBe(8);
  });
});

describe('conversations answered side by side', () => {
  let t: TestMosaic;
  let token: string;

  beforeAll(async () => {
    t = await startTestMosaic({ providers: ['ollama'] });
    token = (await t.createUser('hol')).token;
  }, 120_000);
  afterAll(async () => t?.stop());

  it('answers twelve other conversations while one answer hangs on its model', async () => {
    const chat = t.simulators.ollama;
    // The message that says "hang" gets a stream that stops after its first frame and stays open.
    chat.setDefault((req) => (JSON.stringify(req.body).includes('hang here') ? { stallAfterFrames: 1 } : {}));
    const stuck = (await t.api<{ id: string }>(token, 'POST', '/api/conversations', { title: 'stuck' })).body.id;
    expect((await t.api(token, 'POST', `/api/conversations/${stuck}/messages`, { content: 'hang here' })).status).toBe(202);
    const deadline = Date.now() + 30_000;
    while (!chat.chatRequests().some((r) => JSON.stringify(r.body).includes('hang here'))) {
      if (Date.now() > deadline) throw new Error('the hanging request never reached the model');
      await new Promise((r) => setTimeout(r, 25));
    }
    const others = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const id = (await t.api<{ id: string }>(token, 'POST', '/api/conversations', { title: `other ${i}` })).body.id;
        return t.api<{ reply: { content: string } | null }>(token, 'POST', `/api/conversations/${id}/messages?wait=true`, { content: `question ${i}` });
      }),
    );
    for (const [i, res] of others.entries()) expect(res.body.reply?.content).toBe(`Echo: question ${i}`);
  }, 120_000);
});
