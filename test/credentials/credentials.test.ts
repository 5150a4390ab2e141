import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { sqlRows, type Database } from '../../src/db/client.ts';
import { providerCredentials } from '../../src/db/schema.ts';
import { credentialRoutes } from '../../src/http/credential-routes.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { CredentialResolver } from '../../src/identity/credential-resolver.ts';
import { CredentialStore } from '../../src/identity/credential-store.ts';
import { DecryptError, SecretBox } from '../../src/identity/secret-box.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import { createPgDatabase } from '../support/databases.ts';
import { buildTestApp } from '../support/http.ts';

const K1 = 'k1-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const K2 = 'k2-secret-9876543210-zyxwvutsrqponmlkjihgfedcba';
const API_KEY = 'sk-ant-api03-THIS-IS-ALICES-VERY-SECRET-KEY';

let database: Database;
let app: Express;
let store: CredentialStore;
let alice: Actor;
let bob: Actor;
let aliceToken: string;
let bobToken: string;

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  store = new CredentialStore(database.db, new SecretBox({ id: 'k1', secret: K1 }));
  ({ app } = buildTestApp(database, () => [credentialRoutes(store)]));
  const built = buildTestApp(database);
  aliceToken = (await built.accounts.createUser({ username: 'alice' })).token;
  bobToken = (await built.accounts.createUser({ username: 'bob' })).token;
  alice = actorOf((await built.accounts.users.findByUsername('alice'))!);
  bob = actorOf((await built.accounts.users.findByUsername('bob'))!);
});
afterAll(async () => database.close());

describe('provider credentials', () => {
  let credentialId: string;

  it('are created over the API and never returned, only a masked hint', async () => {
    const res = await request(app).post('/api/providers/credentials').set('Authorization', `Bearer ${aliceToken}`).send({ provider: 'anthropic', label: 'mine', apiKey: API_KEY }).expect(201);
    credentialId = res.body.id;
    expect(res.body.hint).toBe('sk-a…-KEY');
    expect(JSON.stringify(res.body)).not.toContain(API_KEY);
    const list = await request(app).get('/api/providers/credentials').set('Authorization', `Bearer ${aliceToken}`).expect(200);
    expect(list.body.credentials).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(API_KEY);
  });

  it('store ciphertext, never the key', async () => {
    const rows = await sqlRows<Record<string, unknown>>(database.db, sql`select * from provider_credentials`);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(API_KEY);
    expect(String(rows[0]!.ciphertext)).toMatch(/^v1\.k1\./);
    expect((await store.resolveForUse(alice, 'anthropic'))?.secret).toEqual({ type: 'api_key', apiKey: API_KEY });
  });

  it('another user cannot read, list, change, delete or use them (404, not 403)', async () => {
    await request(app).get(`/api/providers/credentials/${credentialId}`).set('Authorization', `Bearer ${bobToken}`).expect(404);
    await request(app).patch(`/api/providers/credentials/${credentialId}`).set('Authorization', `Bearer ${bobToken}`).send({ label: 'stolen' }).expect(404);
    await request(app).delete(`/api/providers/credentials/${credentialId}`).set('Authorization', `Bearer ${bobToken}`).expect(404);
    const list = await request(app).get('/api/providers/credentials').set('Authorization', `Bearer ${bobToken}`).expect(200);
    expect(list.body.credentials).toEqual([]);
    expect(await store.resolveForUse(bob, 'anthropic')).toBeNull();
    expect(await store.has(bob, 'anthropic')).toBe(false);
    expect(await store.has(alice, 'anthropic')).toBe(true);
    expect((await store.get(alice, credentialId)).label).toBe('mine');
  });

  it('a ciphertext copied to another user\'s row does not decrypt', async () => {
    const bobs = await store.create(bob, { provider: 'anthropic', secret: { type: 'api_key', apiKey: 'sk-bob-own-key-1234567890' } });
    const [aliceRow] = await database.db.select().from(providerCredentials).where(eq(providerCredentials.id, credentialId));
    await database.db.update(providerCredentials).set({ ciphertext: aliceRow!.ciphertext }).where(eq(providerCredentials.id, bobs.id));
    await expect(store.resolveForUse(bob, 'anthropic')).rejects.toBeInstanceOf(DecryptError);
    await store.remove(bob, bobs.id);
  });

  it('bad input gets a clear 400 and stores nothing', async () => {
    const before = (await store.list(alice)).length;
    const unknown = await request(app).post('/api/providers/credentials').set('Authorization', `Bearer ${aliceToken}`).send({ provider: 'mistral', apiKey: 'x' }).expect(400);
    expect(unknown.body.error.message).toContain('body.provider');
    const none = await request(app).post('/api/providers/credentials').set('Authorization', `Bearer ${aliceToken}`).send({ provider: 'openai' }).expect(400);
    expect(none.body.error.message).toContain('apiKey or body.oauth is required');
    await request(app).get('/api/providers/credentials/not-a-uuid').set('Authorization', `Bearer ${aliceToken}`).expect(400);
    expect((await store.list(alice)).length).toBe(before);
  });

  it('rotation re-encrypts everything; the retired key no longer opens anything', async () => {
    await store.create(alice, { provider: 'openai', secret: { type: 'api_key', apiKey: 'sk-openai-alice-0000000000' } });
    await store.create(bob, { provider: 'zai', secret: { type: 'api_key', apiKey: 'zai-bob-key-0000000000000' } });
    const rotating = new CredentialStore(database.db, new SecretBox({ id: 'k2', secret: K2 }, [{ id: 'k1', secret: K1 }]));
    const result = await rotating.rotateAll();
    expect(result).toEqual({ rotated: 3, keyId: 'k2' });
    const rows = await database.db.select().from(providerCredentials);
    expect(rows.every((r) => r.keyId === 'k2' && r.ciphertext.startsWith('v1.k2.'))).toBe(true);
    const newOnly = new CredentialStore(database.db, new SecretBox({ id: 'k2', secret: K2 }));
    expect((await newOnly.resolveForUse(alice, 'anthropic'))?.secret).toEqual({ type: 'api_key', apiKey: API_KEY });
    expect((await newOnly.resolveForUse(bob, 'zai'))?.secret).toEqual({ type: 'api_key', apiKey: 'zai-bob-key-0000000000000' });
    const retiredOnly = new CredentialStore(database.db, new SecretBox({ id: 'k1', secret: K1 }));
    await expect(retiredOnly.resolveForUse(alice, 'anthropic')).rejects.toThrow(/encrypted with key "k2", which is not configured/);
    // Even a retired key given the new id cannot open the new ciphertexts.
    const impostor = new CredentialStore(database.db, new SecretBox({ id: 'k2', secret: K1 }));
    await expect(impostor.resolveForUse(alice, 'anthropic')).rejects.toBeInstanceOf(DecryptError);
  });

  it('without MOSAIC_SECRET_KEY storing a credential is a clear 503', async () => {
    const keyless = new CredentialStore(database.db, null);
    const { app: keylessApp } = buildTestApp(database, () => [credentialRoutes(keyless)]);
    const res = await request(keylessApp).post('/api/providers/credentials').set('Authorization', `Bearer ${aliceToken}`).send({ provider: 'openai', apiKey: 'sk-x' }).expect(503);
    expect(res.body.error.message).toContain('MOSAIC_SECRET_KEY is not set');
  });
});

describe('OAuth credentials', () => {
  let server: Server;
  let tokenUrl: string;
  const grants: URLSearchParams[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const params = new URLSearchParams(body);
        grants.push(params);
        if (params.get('refresh_token') !== 'refresh-1') {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'access-2', refresh_token: 'refresh-2', expires_in: 3600 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('an expired access token is refreshed once, stored, and used', async () => {
    await store.create(alice, { provider: 'openrouter', secret: { type: 'oauth', accessToken: 'access-1', refreshToken: 'refresh-1', expiresAt: Date.now() - 1000, tokenUrl, clientId: 'mosaic' } });
    const resolver = new CredentialResolver(store);
    const first = await resolver.forUser(alice, 'openrouter');
    expect(first).toMatchObject({ apiKey: 'access-2', source: 'user' });
    expect(grants).toHaveLength(1);
    expect(grants[0]!.get('grant_type')).toBe('refresh_token');
    expect(grants[0]!.get('client_id')).toBe('mosaic');
    const again = await resolver.forUser(alice, 'openrouter');
    expect(again?.apiKey).toBe('access-2');
    expect(grants).toHaveLength(1);
    expect(await resolver.forUser(bob, 'openrouter')).toBeNull();
  });

  it('a refused refresh is a clear error naming the provider', async () => {
    await store.create(bob, { provider: 'openrouter', secret: { type: 'oauth', accessToken: 'a', refreshToken: 'revoked', expiresAt: Date.now() - 1000, tokenUrl } });
    await expect(new CredentialResolver(store).forUser(bob, 'openrouter')).rejects.toThrow(/refreshing the openrouter OAuth token failed: token endpoint answered 400/);
  });
});
