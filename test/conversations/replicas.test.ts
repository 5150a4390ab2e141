/**
 * Two gateway replicas on one PostgreSQL and one Valkey: nothing that must
 * be shared lives in one process's memory. Messages arriving through either
 * replica are answered once each, in order; /stop reaches the replica that
 * is writing the answer; events fan out to both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/conversations/conversation-bus.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let a: TestMosaic;
let b: TestMosaic;
let token: string;

beforeAll(async () => {
  a = await startTestMosaic({ providers: ['anthropic', 'openai', 'zai', 'ollama'] });
  b = await startTestMosaic({ replicaOf: a });
  token = (await a.createUser('erin')).token;
}, 120_000);
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

interface Message {
  id: string;
  role: string;
  content: string;
  replyToId: string | null;
  metadata: Record<string, unknown>;
}

async function messagesOf(conversationId: string): Promise<Message[]> {
  return (await a.api<{ items: Message[] }>(token, 'GET', `/api/conversations/${conversationId}/messages`)).body.items;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('two replicas', () => {
  it('answer messages sent through either replica once each, in order', async () => {
    const conv = await a.api<{ id: string }>(token, 'POST', '/api/conversations', {});
    a.simulators.anthropic.setDefault({ delayMs: 200 });
    try {
      const sent: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const via = i % 2 ? a : b;
        const res = await via.api<{ messageId: string }>(token, 'POST', `/api/conversations/${conv.body.id}/messages`, { content: `Hello number ${i}` });
        expect(res.status).toBe(202);
        sent.push(res.body.messageId);
      }
      const all = await waitFor('six answers', async () => {
        const items = await messagesOf(conv.body.id);
        return items.filter((m) => m.role === 'assistant').length >= 6 ? items : null;
      });
      const answers = all.filter((m) => m.role === 'assistant');
      expect(answers).toHaveLength(6);
      expect(answers.map((m) => m.replyToId)).toEqual(sent);
      expect(answers.map((m) => m.content)).toEqual(sent.map((_, i) => `Echo: Hello number ${i + 1}`));
      // Each answer saw every earlier one: the conversation was answered one message at a time.
      const chats = a.simulators.anthropic.requests.filter((r) => r.kind === 'chat').slice(-6);
      for (let i = 1; i < 6; i++) expect(JSON.stringify(chats[i]!.body)).toContain(`Echo: Hello number ${i}`);
    } finally {
      a.simulators.anthropic.setDefault({});
    }
  });

  it('/stop sent to one replica stops the answer on whichever replica is writing it, and both see the events', async () => {
    const conv = await a.api<{ id: string }>(token, 'POST', '/api/conversations', {});
    const seenByA: ConversationEvent['type'][] = [];
    const seenByB: ConversationEvent['type'][] = [];
    const offA = await a.core.services.bus.subscribe(conv.body.id, (e) => seenByA.push(e.type));
    const offB = await b.core.services.bus.subscribe(conv.body.id, (e) => seenByB.push(e.type));
    a.simulators.anthropic.script({ text: 'word '.repeat(400), chunkSize: 5, frameDelayMs: 25 });
    await a.api(token, 'POST', `/api/conversations/${conv.body.id}/messages`, { content: 'Hello, a long story please' });
    await waitFor('streaming to start', async () => (seenByB.includes('answer:delta') ? true : null));
    const stop = await b.api<{ command: { name: string } }>(token, 'POST', `/api/conversations/${conv.body.id}/messages`, { content: '!stop' });
    expect(stop.body.command.name).toBe('stop');
    const stopped = await waitFor('the stopped answer', async () => (await messagesOf(conv.body.id)).find((m) => m.role === 'assistant') ?? null);
    expect(stopped.metadata.stopped).toBe(true);
    expect(stopped.content).toMatch(/_Stopped\._$/);
    // answer:stopped is published after the stopped answer is stored: wait for it rather than race it.
    await waitFor('answer:stopped on both replicas', async () => (seenByA.includes('answer:stopped') && seenByB.includes('answer:stopped') ? true : null));
    offA();
    offB();
    for (const seen of [seenByA, seenByB]) expect(seen).toEqual(expect.arrayContaining(['message:new', 'answer:started', 'answer:delta', 'answer:cancel', 'answer:stopped']));
  });
});
