/**
 * Routing rules are cached per replica and dropped on change everywhere:
 * a rule created through one replica decides on the other (told over Valkey
 * pub/sub), while a decision from the cache reads no SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestMosaic } from '../support/mosaic-harness.ts';
import { startTwoReplicas, waitFor } from '../support/replica-caches.ts';
import { measure } from '../support/command-count.ts';

let a: TestMosaic;
let b: TestMosaic;
let stop: () => Promise<void>;
let token: string;

beforeAll(async () => {
  ({ a, b, stop } = await startTwoReplicas({ providers: ['openai', 'ollama'] }));
  token = (await a.createUser('rosa')).token;
}, 120_000);
afterAll(async () => stop?.());

type Decision = { outcome: string; provider?: string; model?: string; rule?: { name: string } | null };
const explain = (t: TestMosaic) => t.api<Decision>(token, 'POST', '/api/routing/explain', { text: 'hello there', channel: 'bench-channel' });

describe('the routing rule cache', () => {
  it('decides from memory, and a change on one replica reaches the other', async () => {
    const before = await explain(b);
    expect(before.status).toBe(200);
    expect(before.body.rule?.name).not.toBe('channel rule');

    // Cached: deciding again reads no rules (the token's own lookup is the request's only statement).
    const userId = (await a.core.accounts.users.findByUsername('rosa'))!.id;
    const cached = await measure(b.core.database, () => b.core.services.routing.route({ userId, text: 'hello there', channel: 'bench-channel' }));
    const known = await measure(b.core.database, () => b.core.services.routing.route({ userId, text: 'hello there', channel: 'bench-channel' }, { user: { id: userId, localOnly: false, monthlyBudgetUsd: null } }));
    expect(cached.sql).toBe(1); // the user's data policy and budget
    expect(known.sql).toBe(0);

    const created = await a.api<{ id: string }>(token, 'POST', '/api/routing/rules', {
      name: 'channel rule',
      priority: 1,
      conditions: [{ type: 'channel', value: ['bench-channel'] }],
      action: { routeTo: { provider: 'openai', model: 'gpt-6-sol' } },
    });
    expect(created.status).toBe(201);
    // The replica that wrote it decides with it at once.
    expect((await explain(a)).body.rule?.name).toBe('channel rule');
    // The other one as soon as the invalidation arrives.
    await waitFor('replica b to use the new rule', async () => (await explain(b)).body.rule?.name === 'channel rule');

    // Deleting it is seen the same way.
    expect((await a.api(token, 'DELETE', `/api/routing/rules/${created.body.id}`)).status).toBe(204);
    await waitFor('replica b to forget the rule', async () => (await explain(b)).body.rule?.name !== 'channel rule');
  });
});
