import request from 'supertest';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { sqlRows } from '../../src/db/client.ts';
import { adminUsersRoutes, meRoutes, tokensRoutes } from '../../src/http/account-routes.ts';
import { Readiness } from '../../src/http/readiness.ts';
import { createPgDatabase } from '../support/databases.ts';
import { buildTestApp } from '../support/http.ts';
import type { AccountService } from '../../src/identity/account-service.ts';
import type { Express } from 'express';

let database: Database;
let app: Express;
let accounts: AccountService;
let adminToken: string;
let memberToken: string;
const readiness = new Readiness();
let valkeyUp = true;

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  readiness.add({ name: 'database', required: true, check: async () => (await database.ping(), { ok: true }) });
  readiness.add({ name: 'valkey', required: true, check: async () => ({ ok: valkeyUp }) });
  readiness.add({ name: 'homeserver', required: false, check: async () => ({ ok: false, detail: 'not configured' }) });
  ({ app, accounts } = buildTestApp(
    database,
    (a) => [
      meRoutes(a),
      tokensRoutes(a),
      adminUsersRoutes(a),
    ],
    readiness,
  ));
  adminToken = (await accounts.createUser({ username: 'root', admin: true })).token;
  memberToken = (await accounts.createUser({ username: 'member', password: 'correct horse battery' })).token;
});
afterAll(async () => database.close());

describe('HTTP auth and errors', () => {
  it('healthz answers without auth', async () => {
    await request(app).get('/healthz').expect(200, { status: 'ok' });
  });

  it('readyz reports each dependency and 503 when a required one is down', async () => {
    const ok = await request(app).get('/readyz').expect(200);
    expect(ok.body.checks.database.ok).toBe(true);
    expect(ok.body.checks.homeserver).toMatchObject({ ok: false, required: false });
    valkeyUp = false;
    const down = await request(app).get('/readyz').expect(503);
    expect(down.body.ready).toBe(false);
    expect(down.body.checks.valkey.ok).toBe(false);
    valkeyUp = true;
  });

  it('metrics are not served on the API port (they have a listener of their own)', async () => {
    const res = await request(app).get('/metrics').expect(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('a missing, wrong or revoked token gets 401', async () => {
    const none = await request(app).get('/api/me').expect(401);
    expect(none.body.error.code).toBe('unauthorized');
    await request(app).get('/api/me').set('Authorization', 'Bearer mos_wrong').expect(401);
    await request(app).get('/api/me').set('Authorization', `Bearer ${memberToken}`).expect(200);
    const issued = await request(app).post('/api/tokens').set('Authorization', `Bearer ${memberToken}`).send({ name: 'temp' }).expect(201);
    await request(app).get('/api/me').set('Authorization', `Bearer ${issued.body.token}`).expect(200);
    await request(app).delete(`/api/tokens/${issued.body.id}`).set('Authorization', `Bearer ${memberToken}`).expect(204);
    await request(app).get('/api/me').set('Authorization', `Bearer ${issued.body.token}`).expect(401);
  });

  it('a member token on an admin route gets 403; an admin token passes', async () => {
    const res = await request(app).get('/api/admin/users').set('Authorization', `Bearer ${memberToken}`).expect(403);
    expect(res.body).toEqual({ error: { code: 'forbidden', message: expect.any(String) } });
    const ok = await request(app).get('/api/admin/users').set('Authorization', `Bearer ${adminToken}`).expect(200);
    expect(ok.body.users.map((u: { username: string }) => u.username)).toEqual(['root', 'member']);
  });

  it('a user cannot revoke another user\'s token (404, not a leak)', async () => {
    const adminTokens = await request(app).get('/api/tokens').set('Authorization', `Bearer ${adminToken}`).expect(200);
    const id = adminTokens.body.tokens[0].id;
    await request(app).delete(`/api/tokens/${id}`).set('Authorization', `Bearer ${memberToken}`).expect(404);
    await request(app).get('/api/me').set('Authorization', `Bearer ${adminToken}`).expect(200);
  });

  it('tokens and passwords are not stored in plain text', async () => {
    const rows = await sqlRows<{ token_hash: string; prefix: string }>(database.db, sql`select token_hash, prefix from api_tokens`);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect([adminToken, memberToken]).not.toContain(row.token_hash);
      expect(adminToken.startsWith(row.prefix) || memberToken.startsWith(row.prefix) || row.prefix.startsWith('mos_')).toBe(true);
    }
    const dump = JSON.stringify(await sqlRows(database.db, sql`select * from api_tokens`)) + JSON.stringify(await sqlRows(database.db, sql`select * from users`));
    expect(dump).not.toContain(adminToken);
    expect(dump).not.toContain(memberToken);
    expect(dump).not.toContain('correct horse battery');
    expect(await accounts.verifyLogin('member', 'correct horse battery')).not.toBeNull();
    expect(await accounts.verifyLogin('member', 'wrong password')).toBeNull();
  });

  it('every failure has one JSON shape: unknown routes, bad JSON, oversized and invalid bodies', async () => {
    const unknown = await request(app).get('/api/nothing-here').set('Authorization', `Bearer ${adminToken}`).expect(404);
    expect(unknown.body.error.code).toBe('not_found');
    await request(app).get('/nowhere').expect(404).expect((r) => expect(r.body.error.code).toBe('not_found'));
    const badJson = await request(app).post('/api/admin/users').set('Authorization', `Bearer ${adminToken}`).set('Content-Type', 'application/json').send('{"username": ').expect(400);
    expect(badJson.body.error.code).toBe('invalid_json');
    const big = await request(app).post('/api/admin/users').set('Authorization', `Bearer ${adminToken}`).send({ username: 'x'.repeat(200_000) }).expect(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const invalid = await request(app).post('/api/admin/users').set('Authorization', `Bearer ${adminToken}`).send({ username: 42 }).expect(400);
    expect(invalid.body.error.message).toContain('body.username');
    const badName = await request(app).post('/api/admin/users').set('Authorization', `Bearer ${adminToken}`).send({ username: 'Bad Name!' }).expect(400);
    expect(badName.body.error.message).toContain('not allowed');
    const dup = await request(app).post('/api/admin/users').set('Authorization', `Bearer ${adminToken}`).send({ username: 'member' }).expect(409);
    expect(dup.body.error.code).toBe('conflict');
  });
});

describe('/api/admin/users: disable, enable, delete', () => {
  it('a disabled account\'s tokens stop working at once; enabling restores them; delete says what it removes, then removes it', async () => {
    const { token } = await accounts.createUser({ username: 'leaver' });
    const as = (t: string) => ({ authorization: `Bearer ${t}` });
    await request(app).get('/api/me').set(as(token)).expect(200);
    await request(app).post('/api/admin/users/leaver/disable').set(as(memberToken)).expect(403);
    const disabled = await request(app).post('/api/admin/users/leaver/disable').set(as(adminToken)).expect(200);
    expect(disabled.body.disabledAt).toEqual(expect.any(String));
    await request(app).get('/api/me').set(as(token)).expect(401);
    const listed = await request(app).get('/api/admin/users').set(as(adminToken)).expect(200);
    expect(listed.body.users.find((u: { username: string }) => u.username === 'leaver').disabledAt).toEqual(expect.any(String));
    await request(app).post('/api/admin/users/leaver/enable').set(as(adminToken)).expect(200);
    await request(app).get('/api/me').set(as(token)).expect(200);

    const impact = await request(app).get('/api/admin/users/leaver/deletion').set(as(adminToken)).expect(200);
    expect(impact.body.removes).toMatchObject({ tokens: 1, conversations: 0 });
    const deleted = await request(app).delete('/api/admin/users/leaver').set(as(adminToken)).expect(200);
    expect(deleted.body).toMatchObject({ user: { username: 'leaver' }, removes: { tokens: 1 } });
    await request(app).get('/api/me').set(as(token)).expect(401);
    await request(app).delete('/api/admin/users/leaver').set(as(adminToken)).expect(404);
    await request(app).post('/api/admin/users/nobody/disable').set(as(adminToken)).expect(404);
  });

  it('the only enabled admin can be neither disabled nor deleted', async () => {
    const as = { authorization: `Bearer ${adminToken}` };
    const refused = await request(app).post('/api/admin/users/root/disable').set(as).expect(409);
    expect(refused.body.error.message).toContain('cannot disable root: it is the only enabled admin');
    await request(app).delete('/api/admin/users/root').set(as).expect(409);
    await request(app).get('/api/me').set(as).expect(200);
  });
});
