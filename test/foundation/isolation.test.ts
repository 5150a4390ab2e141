/**
 * Isolation of user-owned data. Every method of every storage class in
 * src/**\/*-store.ts must appear in `coverage` below: either with a case
 * proving another user cannot reach the acting user's rows, or marked as not
 * touching user-owned data (with the reason). A new storage function without
 * an entry fails this test, so it cannot be forgotten.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import { TokenStore } from '../../src/identity/token-store.ts';
import { CredentialStore } from '../../src/identity/credential-store.ts';
import { SecretBox } from '../../src/identity/secret-box.ts';
import { createPgDatabase } from '../support/databases.ts';

interface Ctx {
  database: Database;
  alice: Actor;
  bob: Actor;
}
type Coverage = Record<string, { isolation: (ctx: Ctx) => Promise<void> } | { notUserOwned: string }>;

const coverage: Coverage = {
  'UserStore.create': { notUserOwned: 'accounts themselves; called by admin code and the CLI only' },
  'UserStore.findByUsername': { notUserOwned: 'account lookup for login/admin; returns no user-owned content' },
  'UserStore.findById': { notUserOwned: 'account lookup; returns no user-owned content' },
  'UserStore.requireByUsername': { notUserOwned: 'account lookup for admin/CLI' },
  'UserStore.list': { notUserOwned: 'admin listing of accounts (admin route only)' },
  'UserStore.setLocalOnly': { notUserOwned: 'account flag set by admin code' },
  'AgentLogStore.append': { notUserOwned: 'system/job lifecycle log written by the server; read only through admin routes' },
  'AgentLogStore.applyTiers': { notUserOwned: 'housekeeping over all logs by age (a scheduled job)' },
  'AgentLogStore.listForJob': { notUserOwned: 'admin jobs API only' },
  'CredentialStore.rotateAll': { notUserOwned: 'admin key rotation (`mosaic secrets rotate`); returns no secrets' },
  'CredentialStore.requireBox': { notUserOwned: 'private helper: no data access' },
  'CredentialStore.row': { notUserOwned: 'private helper scoped by the actor; exercised through get/update/remove' },
  'CredentialStore.create': { isolation: async (c) => credentialIsolation(c) },
  'CredentialStore.list': { isolation: async (c) => credentialIsolation(c) },
  'CredentialStore.get': { isolation: async (c) => credentialIsolation(c) },
  'CredentialStore.update': { isolation: async (c) => credentialIsolation(c) },
  'CredentialStore.remove': { isolation: async (c) => credentialIsolation(c) },
  'CredentialStore.resolveForUse': { isolation: async (c) => credentialIsolation(c) },
  'CredentialStore.has': { isolation: async (c) => credentialIsolation(c) },
  'ConversationStore.activeSince': { notUserOwned: 'housekeeping: ids and owners only; every later read acts as the owner' },
  'TokenStore.authenticate': { notUserOwned: 'resolves a presented secret to its own user; cannot name another user' },
  'TokenStore.issue': {
    isolation: async ({ database, alice, bob }) => {
      const tokens = new TokenStore(database.db);
      const { token } = await tokens.issue(alice, 'iso');
      expect((await tokens.authenticate(token))?.userId).toBe(alice.userId);
      expect((await tokens.list(bob)).some((t) => t.name === 'iso')).toBe(false);
    },
  },
  'TokenStore.list': {
    isolation: async ({ database, alice, bob }) => {
      const tokens = new TokenStore(database.db);
      const mine = await tokens.list(alice);
      const theirs = await tokens.list(bob);
      expect(mine.length).toBeGreaterThan(0);
      expect(theirs.length).toBeGreaterThan(0);
      expect(mine.filter((t) => theirs.some((o) => o.id === t.id))).toEqual([]);
    },
  },
  'TokenStore.revoke': {
    isolation: async ({ database, alice, bob }) => {
      const tokens = new TokenStore(database.db);
      const [aliceToken] = await tokens.list(alice);
      await expect(tokens.revoke(bob, aliceToken!.id)).rejects.toMatchObject({ httpStatus: 404 });
      expect((await tokens.list(alice)).find((t) => t.id === aliceToken!.id)?.revokedAt).toBeNull();
    },
  },
};

async function credentialIsolation({ database, alice, bob }: Ctx): Promise<void> {
  const store = new CredentialStore(database.db, new SecretBox({ id: 'iso', secret: 'isolation-test-secret-0123456789abcdef' }));
  const mine = await store.create(alice, { provider: 'openai', secret: { type: 'api_key', apiKey: 'sk-alice-isolation-000000' } });
  expect((await store.list(bob)).map((c) => c.id)).not.toContain(mine.id);
  await expect(store.get(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  await expect(store.update(bob, mine.id, { label: 'x' })).rejects.toMatchObject({ httpStatus: 404 });
  await expect(store.remove(bob, mine.id)).rejects.toMatchObject({ httpStatus: 404 });
  expect(await store.resolveForUse(bob, 'openai')).toBeNull();
  expect(await store.has(bob, 'openai')).toBe(false);
  expect((await store.get(alice, mine.id)).label).toBe('');
  await store.remove(alice, mine.id);
}

function storeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return storeFiles(full);
    return name.endsWith('-store.ts') ? [full] : [];
  });
}

async function storeMethods(): Promise<string[]> {
  const keys: string[] = [];
  for (const file of storeFiles(path.resolve('src'))) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !/^class\s/.test(Function.prototype.toString.call(value))) continue;
      const proto = (value as { prototype: object }).prototype;
      for (const method of Object.getOwnPropertyNames(proto)) {
        if (method !== 'constructor') keys.push(`${exportName}.${method}`);
      }
    }
  }
  return keys.sort();
}

let ctx: Ctx;
beforeAll(async () => {
  const { database } = await createPgDatabase();
  const accounts = new AccountService(database.db);
  await accounts.createUser({ username: 'alice' });
  await accounts.createUser({ username: 'bob' });
  ctx = {
    database,
    alice: actorOf((await accounts.users.findByUsername('alice'))!),
    bob: actorOf((await accounts.users.findByUsername('bob'))!),
  };
});
afterAll(async () => ctx.database.close());

describe('user data isolation', () => {
  it('every storage function is covered by this test', async () => {
    const methods = await storeMethods();
    expect(methods.length).toBeGreaterThan(0);
    const missing = methods.filter((m) => !(m in coverage));
    expect(missing, `add these storage functions to test/foundation/isolation.test.ts: ${missing.join(', ')}`).toEqual([]);
  });

  for (const [name, entry] of Object.entries(coverage)) {
    if ('isolation' in entry) {
      it(`${name} only reaches the acting user's rows`, async () => entry.isolation(ctx));
    }
  }
});
