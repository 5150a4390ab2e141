/**
 * The embedded default (no DATABASE_URL): conversations answer, search and
 * resume after a restart on PGlite exactly as on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let t: TestMosaic;
let token: string;

beforeAll(async () => {
  t = await startTestMosaic({ database: 'pglite', providers: ['anthropic', 'zai', 'ollama'] });
  token = (await t.createUser('dana')).token;
}, 120_000);
afterAll(async () => t?.stop());

describe('conversations on PGlite', () => {
  it('answers, searches, and resumes with its history after a restart', async () => {
    expect(t.core.database.kind).toBe('pglite');
    const conv = await t.api<{ id: string }>(token, 'POST', '/api/conversations', { title: 'Embedded' });
    const first = await t.api<{ reply: { content: string } }>(token, 'POST', `/api/conversations/${conv.body.id}/messages?wait=true`, { content: 'My cat is called Miso.' });
    expect(first.body.reply.content).toBe('Echo: My cat is called Miso.');
    const hits = await t.api<{ hits: Array<{ snippet: string }> }>(token, 'GET', '/api/conversations/search?q=miso');
    expect(hits.body.hits.map((h) => h.snippet)).toContain('My cat is called <<Miso>>.');
    await t.restart();
    const again = await t.api<{ reply: { content: string } }>(token, 'POST', `/api/conversations/${conv.body.id}/messages?wait=true`, { content: 'What is my cat called?' });
    expect(again.body.reply.content).toBe('Echo: What is my cat called?');
    const lastChat = t.simulators.anthropic.requests.filter((r) => r.kind === 'chat').at(-1)!;
    expect(JSON.stringify(lastChat.body)).toContain('My cat is called Miso.');
  });
});
