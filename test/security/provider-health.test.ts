/**
 * One member cannot take a provider offline for everyone: failures of calls
 * made with a member's own key (here, their own base URL that answers
 * nothing) count in that member's health record only; the shared record,
 * fed by system-credential calls, stays healthy and everyone else keeps
 * being routed to the provider.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let t: TestMosaic;
let deadUrl: string;

/** A port nothing listens on (taken, then closed). */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  t = await startTestMosaic({
    providers: ['openai', 'ollama'],
    // The admin allows user base URLs, even private ones: the dead address below is on loopback.
    config: { providers: { userBaseUrls: { enabled: true, allowPrivateAddresses: true } }, health: { probeIntervalSeconds: 86_400, failureThreshold: 3 } },
  });
  deadUrl = `http://127.0.0.1:${await deadPort()}/v1`;
}, 120_000);
afterAll(() => t?.stop());

const toOpenAI = { name: 'everything to openai', action: { routeTo: { provider: 'openai', model: 'gpt-5-mini' } } };

describe('[finding 3] provider health and user keys', () => {
  it("a member's own dead base URL never puts the provider into cooldown for the others", async () => {
    const mallory = await t.createUser('mallory');
    const alice = await t.createUser('alice');
    for (const who of [mallory, alice]) expect((await t.api(who.token, 'POST', '/api/routing/rules', toOpenAI)).status).toBe(201);
    const stored = await t.api(mallory.token, 'POST', '/api/providers/credentials', { provider: 'openai', apiKey: 'sk-mallory', baseUrl: deadUrl });
    expect(stored.status).toBe(201);
    const conv = await t.api<{ id: string }>(mallory.token, 'POST', '/api/conversations', {});
    for (let i = 0; i < 4; i++) {
      const res = await t.api(mallory.token, 'POST', `/api/conversations/${conv.body.id}/messages?wait=true`, { content: `question ${i}` });
      expect([200, 202]).toContain(res.status);
    }
    const seenByAlice = await t.api<{ providers: Array<{ provider: string; status: string; usable: boolean; consecutiveFailures: number; ownKey?: unknown }> }>(alice.token, 'GET', '/api/providers/health');
    const shared = seenByAlice.body.providers.find((p) => p.provider === 'openai')!;
    expect(shared).toMatchObject({ status: 'healthy', usable: true, consecutiveFailures: 0 });
    expect(shared.ownKey).toBeUndefined();
    const seenByMallory = await t.api<{ providers: Array<{ provider: string; ownKey?: { status: string; usable: boolean } }> }>(mallory.token, 'GET', '/api/providers/health');
    expect(seenByMallory.body.providers.find((p) => p.provider === 'openai')?.ownKey).toMatchObject({ status: 'down', usable: false });

    // Alice, on the system key, is still answered by OpenAI.
    const before = t.simulators.openai.chatRequests().length;
    const aliceConv = await t.api<{ id: string }>(alice.token, 'POST', '/api/conversations', {});
    const answer = await t.api<{ routing: { provider: string } | null }>(alice.token, 'POST', `/api/conversations/${aliceConv.body.id}/messages?wait=true`, { content: 'hello there' });
    expect(answer.status).toBe(200);
    expect(answer.body.routing?.provider).toBe('openai');
    expect(t.simulators.openai.chatRequests().length).toBeGreaterThan(before);
  }, 120_000);
});
