/** Rule storage and ownership, on real PostgreSQL and on PGlite (the embedded default). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { RuleStore } from '../../src/routing/rule-store.ts';
import { isMosaicError, type MosaicError } from '../../src/errors.ts';
import { createPgDatabase, createPgliteDatabase } from '../support/databases.ts';

const rule = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  conditions: [{ type: 'taskType', value: 'coding' }],
  action: { routeTo: { provider: 'openai', model: 'gpt-6-sol' } },
  ...extra,
});

async function failure(p: Promise<unknown>): Promise<MosaicError> {
  try {
    await p;
  } catch (err) {
    if (isMosaicError(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe.each([
  ['PostgreSQL', async () => (await createPgDatabase()).database],
  ['PGlite', createPgliteDatabase],
])('rule store on %s', (_kind, open) => {
  let database: Database;
  let store: RuleStore;
  let admin: Actor;
  let alice: Actor;
  let bob: Actor;

  beforeAll(async () => {
    database = await open();
    store = new RuleStore(database.db);
    const accounts = new AccountService(database.db);
    const mk = async (username: string, isAdmin = false): Promise<Actor> => {
      const { user } = await accounts.createUser({ username, admin: isAdmin });
      return { userId: user.id, role: user.role, username };
    };
    admin = await mk('admin', true);
    alice = await mk('alice');
    bob = await mk('bob');
  });
  afterAll(async () => database.close());

  it('the migration seeded at least 11 valid system rules, with a catch-all last', async () => {
    const listed = await store.listVisible(alice);
    const system = listed.filter((r) => r.scope === 'system');
    expect(system.length).toBeGreaterThanOrEqual(11);
    expect(system.filter((r) => r.invalid)).toEqual([]);
    expect(system.every((r) => r.ownerId === null && r.fallbacks.length > 0)).toBe(true);
    expect(system.at(-1)!.conditions).toEqual([]);
  });

  it('a user sees their own rules and system rules, never another user\'s', async () => {
    const mine = await store.create(alice, rule('alice rule'));
    expect(mine.ownerId).toBe(alice.userId);
    const bobs = await store.listVisible(bob);
    expect(bobs.some((r) => r.id === mine.id)).toBe(false);
    expect((await store.listVisible(alice))[0]!.id).toBe(mine.id);
    expect((await failure(store.get(bob, mine.id))).httpStatus).toBe(404);
    expect((await failure(store.update(bob, mine.id, { name: 'stolen' }))).httpStatus).toBe(404);
    expect((await failure(store.remove(bob, mine.id))).httpStatus).toBe(404);
    // Admins manage system rules, not other people's.
    expect((await failure(store.update(admin, mine.id, { name: 'admin edit' }))).httpStatus).toBe(404);
    const updated = await store.update(alice, mine.id, { name: 'renamed', enabled: false });
    expect(updated).toMatchObject({ name: 'renamed', enabled: false });
    expect((await store.rulesFor(alice.userId)).userRules.some((r) => r.id === mine.id)).toBe(false);
    await store.remove(alice, mine.id);
    expect((await failure(store.get(alice, mine.id))).httpStatus).toBe(404);
  });

  it('system rules are created and changed by admins only', async () => {
    expect((await failure(store.create(alice, rule('sys', { scope: 'system' })))).httpStatus).toBe(403);
    const sys = await store.create(admin, rule('sys', { scope: 'system' }));
    expect(sys.ownerId).toBeNull();
    // Placed before the catch-all, so it can ever match.
    const catchAll = (await store.listVisible(admin)).filter((r) => r.scope === 'system' && r.conditions.length === 0)[0]!;
    expect(sys.priority).toBeLessThan(catchAll.priority);
    expect((await failure(store.update(alice, sys.id, { priority: 1 }))).httpStatus).toBe(403);
    expect((await failure(store.remove(alice, sys.id))).httpStatus).toBe(403);
    expect((await store.listVisible(bob)).some((r) => r.id === sys.id)).toBe(true);
    await store.remove(admin, sys.id);
  });

  it('a system rule can be disabled and enabled again per user', async () => {
    const target = (await store.listVisible(alice)).find((r) => r.scope === 'system')!;
    await store.setDisabledForMe(alice, target.id, true);
    await store.setDisabledForMe(alice, target.id, true); // idempotent
    expect((await store.rulesFor(alice.userId)).systemRules.some((r) => r.id === target.id)).toBe(false);
    expect((await store.rulesFor(bob.userId)).systemRules.some((r) => r.id === target.id)).toBe(true);
    expect((await store.get(alice, target.id)).disabledForMe).toBe(true);
    await store.setDisabledForMe(alice, target.id, false);
    expect((await store.rulesFor(alice.userId)).systemRules.some((r) => r.id === target.id)).toBe(true);
    const own = await store.create(alice, rule('own'));
    expect((await failure(store.setDisabledForMe(alice, own.id, true))).message).toMatch(/only system rules/);
    await store.remove(alice, own.id);
  });

  it('reorders a scope and insists on the complete list', async () => {
    const a = await store.create(bob, rule('a'));
    const b = await store.create(bob, rule('b'));
    const c = await store.create(bob, rule('c'));
    const after = await store.reorder(bob, { ids: [c.id, a.id, b.id] });
    expect(after.map((r) => r.name)).toEqual(['c', 'a', 'b']);
    expect((await store.rulesFor(bob.userId)).userRules.map((r) => r.name)).toEqual(['c', 'a', 'b']);
    const partial = await failure(store.reorder(bob, { ids: [c.id, a.id] }));
    expect(partial.httpStatus).toBe(400);
    expect(partial.message).toContain(`missing from the new order: ${b.id}`);
    const systemId = (await store.listVisible(bob)).find((r) => r.scope === 'system')!.id;
    expect((await failure(store.reorder(bob, { ids: [c.id, a.id, b.id, systemId] }))).message).toContain(`not your rules: ${systemId}`);
    expect((await failure(store.reorder(bob, { scope: 'system', ids: [systemId] }))).httpStatus).toBe(403);
  });

  it('rejects malformed rules with messages naming the field', async () => {
    const bad = await failure(store.create(alice, rule('x', { conditions: [{ type: 'mood', value: 'happy' }] })));
    expect(bad.httpStatus).toBe(400);
    expect(bad.message).toContain('body.conditions.0.type: condition type must be one of taskType');
    const badTask = await failure(store.create(alice, rule('x', { conditions: [{ type: 'taskType', value: ['coding', 'gardening'] }] })));
    expect(badTask.message).toMatch(/"gardening" is not a task type; use one of coding, research/);
    const badProvider = await failure(store.create(alice, { name: 'x', action: { routeTo: { provider: 'acme', model: 'm' } } }));
    expect(badProvider.message).toContain('body.action.routeTo.provider: "acme" is not a provider');
    const noChange = await failure(store.update(alice, (await store.listVisible(alice))[0]!.id, {}));
    expect(noChange.message).toContain('give at least one field to change');
    expect((await failure(store.get(alice, 'not-a-uuid'))).message).toContain('id: must be a rule id (uuid)');
  });
});
