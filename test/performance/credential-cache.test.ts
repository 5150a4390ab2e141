/**
 * Users' own provider keys are cached per replica and dropped on change
 * everywhere: a turn reads its credential without SQL, and a key replaced
 * or removed through one replica is not sent by the other once the
 * invalidation arrives over Valkey pub/sub (well before the cache's own
 * 60 s expiry).
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
let conversationId: string;

beforeAll(async () => {
  ({ a, b, stop } = await startTwoReplicas({ providers: ['ollama'] }));
  token = (await a.createUser('keyholder')).token;
  actor = (await b.core.accounts.tokens.authenticate(token))!;
  conversationId = (await b.api<{ id: string }>(token, 'POST', '/api/conversations', { title: 'keys' })).body.id;
}, 120_000);
afterAll(async () => stop?.());

/** The key replica b's turns would send to Ollama for this user (null: none of their own). */
const keySeenByB = async () => {
  const usable = await b.core.credentials.resolveForUse(actor, 'ollama');
  return usable?.secret.type === 'api_key' ? usable.secret.apiKey : null;
};

/** One turn through b; returns the Authorization header the model received. */
async function turnKey(content: string): Promise<string | undefined> {
  const res = await b.api<{ reply: { content: string } | null }>(token, 'POST', `/api/conversations/${conversationId}/messages?wait=true`, { content });
  expect(res.status).toBe(200);
  const last = a.simulators.ollama.chatRequests().at(-1);
  return last?.headers.authorization as string | undefined;
}

describe('the provider credential cache', () => {
  it('reads the key from memory, and a key replaced or removed on one replica is not used by the other', async () => {
    const created = await a.api<{ id: string }>(token, 'POST', '/api/providers/credentials', { provider: 'ollama', apiKey: 'ollama-key-one-0123456789' });
    expect(created.status).toBe(201);
    expect(await turnKey('first')).toBe('Bearer ollama-key-one-0123456789');

    // Cached on b: reading it again costs no statement.
    expect(await keySeenByB()).toBe('ollama-key-one-0123456789');
    expect((await measure(b.core.database, keySeenByB)).sql).toBe(0);

    // Replaced through a: b's cached key is dropped when the invalidation arrives, and the next turn sends the new one.
    expect((await a.api(token, 'PATCH', `/api/providers/credentials/${created.body.id}`, { apiKey: 'ollama-key-two-0123456789' })).status).toBe(200);
    await waitFor('replica b to drop the replaced key', async () => (await keySeenByB()) === 'ollama-key-two-0123456789');
    expect(await turnKey('second')).toBe('Bearer ollama-key-two-0123456789');

    // Removed through a: b sends no key of the user's any more.
    expect((await a.api(token, 'DELETE', `/api/providers/credentials/${created.body.id}`)).status).toBe(204);
    await waitFor('replica b to drop the removed key', async () => (await keySeenByB()) === null);
    expect(await turnKey('third')).not.toBe('Bearer ollama-key-two-0123456789');
  });
});
