/**
 * Agent configs are cached per replica and dropped on change everywhere: a
 * turn reads its agent without SQL, and an agent changed or deleted through
 * one replica is seen by the other once the invalidation arrives over
 * Valkey pub/sub (well before the cache's own 60 s expiry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestMosaic } from '../support/mosaic-harness.ts';
import { startTwoReplicas, waitFor } from '../support/replica-caches.ts';
import { measure } from '../support/command-count.ts';
import type { Actor } from '../../src/identity/actor.ts';

let a: TestMosaic;
let b: TestMosaic;
let stop: () => Promise<void>;
let token: string;
let actor: Actor;

beforeAll(async () => {
  ({ a, b, stop } = await startTwoReplicas({ providers: ['ollama'] }));
  token = (await a.createUser('agnes')).token;
  actor = (await b.core.accounts.tokens.authenticate(token))!;
}, 120_000);
afterAll(async () => stop?.());

/** What replica b's turns read for the agent (null: not visible any more). */
const seenByB = (id: string) => b.core.services.conversations.stores.agents.get(actor, id).then((agent) => agent.systemPrompt, () => null);

describe('the agent config cache', () => {
  it('reads the agent from memory, and a change on one replica reaches the next turn on the other', async () => {
    const agent = await a.api<{ id: string }>(token, 'POST', '/api/agents', { name: 'tutor', systemPrompt: 'You are PROMPT-ONE.' });
    expect(agent.status).toBe(201);
    const id = agent.body.id;
    const conversation = await b.api<{ id: string }>(token, 'POST', '/api/conversations', { agent: 'tutor' });
    expect(conversation.status).toBe(201);

    const ask = async (content: string) => {
      const res = await b.api<{ reply: { content: string } | null }>(token, 'POST', `/api/conversations/${conversation.body.id}/messages?wait=true`, { content });
      expect(res.status).toBe(200);
      return JSON.stringify(a.simulators.ollama.lastChatBody());
    };
    expect(await ask('first')).toContain('PROMPT-ONE');

    // Cached on b: reading it again costs no statement.
    expect(await seenByB(id)).toBe('You are PROMPT-ONE.');
    expect((await measure(b.core.database, () => seenByB(id))).sql).toBe(0);

    // Changed through a: b's cached copy is dropped when the invalidation arrives.
    expect((await a.api(token, 'PATCH', `/api/agents/${id}`, { systemPrompt: 'You are PROMPT-TWO.' })).status).toBe(200);
    await waitFor('replica b to see the changed agent', async () => (await seenByB(id)) === 'You are PROMPT-TWO.');
    const second = await ask('second');
    expect(second).toContain('PROMPT-TWO');
    expect(second).not.toContain('PROMPT-ONE');

    // Deleted through a: b no longer finds it.
    expect((await a.api(token, 'DELETE', `/api/agents/${id}`)).status).toBe(204);
    await waitFor('replica b to forget the deleted agent', async () => (await seenByB(id)) === null);
  });

  it('drops the cache on a change made through the same replica at once', async () => {
    const agent = await b.api<{ id: string }>(token, 'POST', '/api/agents', { name: 'local', systemPrompt: 'Before.' });
    expect(await seenByB(agent.body.id)).toBe('Before.');
    expect((await b.api(token, 'PATCH', `/api/agents/${agent.body.id}`, { systemPrompt: 'After.' })).status).toBe(200);
    expect(await seenByB(agent.body.id)).toBe('After.');
  });
});
