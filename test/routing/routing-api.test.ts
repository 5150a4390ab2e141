/** /api/routing over the real HTTP app, real tokens and a real PostgreSQL database. */
import request from 'supertest';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import type { AccountService } from '../../src/identity/account-service.ts';
import { configSchema } from '../../src/config/schema.ts';
import { routingRoutes, type ConversationRoutingState } from '../../src/http/routing-routes.ts';
import { catalogueDirectory } from '../../src/routing/catalogue-directory.ts';
import { createRoutingService } from '../../src/routing/routing-service.ts';
import { createPgDatabase } from '../support/databases.ts';
import { buildTestApp } from '../support/http.ts';
import { ProviderState } from './support.ts';

let database: Database;
let app: Express;
let adminToken: string;
let memberToken: string;
let otherToken: string;
const CONVERSATION = '0b7c9a52-8c2e-4f0e-9a51-2f6f0e6b7a10';
const conversations = new Map<string, ConversationRoutingState>();

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  const routing = createRoutingService({ db: database.db, routing: configSchema.parse({}).routing, directory: catalogueDirectory(), availability: new ProviderState() });
  let accountsRef: AccountService;
  ({ app, accounts: accountsRef } = buildTestApp(database, [
    routingRoutes({ routing, conversationState: async (actor, id) => conversations.get(`${actor.username}:${id}`) ?? null }),
  ]));
  adminToken = (await accountsRef.createUser({ username: 'root', admin: true })).token;
  memberToken = (await accountsRef.createUser({ username: 'member' })).token;
  otherToken = (await accountsRef.createUser({ username: 'other' })).token;
  conversations.set(`member:${CONVERSATION}`, { pin: { provider: 'openai', model: 'gpt-6.2-astra' }, localOnly: false });
});
afterAll(async () => database.close());

const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const validRule = { name: 'mine', conditions: [{ type: 'taskType', value: ['coding', 'analysis'] }], action: { routeTo: { provider: 'openai', model: 'gpt-6-sol' } }, fallbacks: [{ provider: 'zai', model: 'glm-4.6' }] };

describe('/api/routing/rules', () => {
  it('needs a token', async () => {
    await request(app).get('/api/routing/rules').expect(401);
  });

  it('lists own and system rules; create, update, reorder and delete own rules', async () => {
    const created = await request(app).post('/api/routing/rules').set(as(memberToken)).send(validRule).expect(201);
    expect(created.body).toMatchObject({ name: 'mine', ownerId: expect.any(String), enabled: true });
    const second = await request(app).post('/api/routing/rules').set(as(memberToken)).send({ ...validRule, name: 'second' }).expect(201);
    const list = await request(app).get('/api/routing/rules').set(as(memberToken)).expect(200);
    expect(list.body.rules.slice(0, 2).map((r: { name: string }) => r.name)).toEqual(['mine', 'second']);
    expect(list.body.rules.filter((r: { scope: string }) => r.scope === 'system').length).toBeGreaterThanOrEqual(11);
    await request(app).patch(`/api/routing/rules/${created.body.id}`).set(as(memberToken)).send({ description: 'my coding rule' }).expect(200);
    const reordered = await request(app).post('/api/routing/rules/reorder').set(as(memberToken)).send({ ids: [second.body.id, created.body.id] }).expect(200);
    expect(reordered.body.rules.map((r: { name: string }) => r.name)).toEqual(['second', 'mine']);
    await request(app).get(`/api/routing/rules/${created.body.id}`).set(as(otherToken)).expect(404);
    await request(app).delete(`/api/routing/rules/${created.body.id}`).set(as(otherToken)).expect(404);
    await request(app).delete(`/api/routing/rules/${created.body.id}`).set(as(memberToken)).expect(204);
    await request(app).delete(`/api/routing/rules/${second.body.id}`).set(as(memberToken)).expect(204);
  });

  it('admins manage system rules; members may only disable them for themselves', async () => {
    await request(app).post('/api/routing/rules').set(as(memberToken)).send({ ...validRule, scope: 'system' }).expect(403);
    const sys = await request(app).post('/api/routing/rules').set(as(adminToken)).send({ ...validRule, name: 'sys', scope: 'system' }).expect(201);
    expect(sys.body.ownerId).toBeNull();
    await request(app).patch(`/api/routing/rules/${sys.body.id}`).set(as(memberToken)).send({ enabled: false }).expect(403);
    await request(app).post(`/api/routing/rules/${sys.body.id}/disable`).set(as(memberToken)).expect(204);
    const mine = await request(app).get(`/api/routing/rules/${sys.body.id}`).set(as(memberToken)).expect(200);
    expect(mine.body.disabledForMe).toBe(true);
    const others = await request(app).get(`/api/routing/rules/${sys.body.id}`).set(as(otherToken)).expect(200);
    expect(others.body.disabledForMe).toBe(false);
    await request(app).post(`/api/routing/rules/${sys.body.id}/enable`).set(as(memberToken)).expect(204);
    await request(app).delete(`/api/routing/rules/${sys.body.id}`).set(as(adminToken)).expect(204);
  });

  it.each([
    ['an unknown condition type', { ...validRule, conditions: [{ type: 'weather', value: 'sunny' }] }, 'body.conditions.0.type: condition type must be one of'],
    ['an unknown task type in a set', { ...validRule, conditions: [{ type: 'taskType', value: ['coding', 'poetry'] }] }, 'body.conditions.0.value.1: "poetry" is not a task type'],
    ['an unknown provider', { ...validRule, action: { routeTo: { provider: 'acme', model: 'x' } } }, 'body.action.routeTo.provider: "acme" is not a provider'],
    ['a missing action', { name: 'x' }, 'body.action'],
    ['an empty name', { ...validRule, name: '  ' }, 'body.name: must not be empty'],
    ['a negative context window', { ...validRule, conditions: [{ type: 'minContextWindow', value: -5 }] }, 'body.conditions.0.value: must be a positive number of tokens'],
    ['an unknown field', { ...validRule, colour: 'blue' }, 'colour'],
    ['a bad agent config id', { ...validRule, action: { routeTo: { provider: 'openai', model: 'gpt-6-sol', agentConfigId: 'bob' } } }, 'body.action.routeTo.agentConfigId: must be an agent config id (uuid)'],
  ])('400 for %s, with a message naming the field', async (_what, body, message) => {
    const res = await request(app).post('/api/routing/rules').set(as(memberToken)).send(body).expect(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(res.body.error.message).toContain(message);
  });

  it('400 for a bad id, an empty update and an incomplete reorder; nothing changes', async () => {
    const before = await request(app).get('/api/routing/rules').set(as(memberToken)).expect(200);
    expect((await request(app).patch('/api/routing/rules/nope').set(as(memberToken)).send({ name: 'x' }).expect(400)).body.error.message).toContain('id: must be a rule id (uuid)');
    const sysId = before.body.rules.find((r: { scope: string }) => r.scope === 'system').id;
    await request(app).patch(`/api/routing/rules/${sysId}`).set(as(adminToken)).send({}).expect(400);
    await request(app).post('/api/routing/rules/reorder').set(as(memberToken)).send({ ids: [] }).expect(400);
    await request(app).post('/api/routing/rules/reorder').set(as(memberToken)).send({ ids: ['x'] }).expect(400);
    await request(app).post('/api/routing/rules').set(as(memberToken)).set('Content-Type', 'application/json').send('{"name": ').expect(400);
    const after = await request(app).get('/api/routing/rules').set(as(memberToken)).expect(200);
    expect(after.body).toEqual(before.body);
  });
});

describe('POST /api/routing/explain', () => {
  it('returns the decision without calling a model', async () => {
    const res = await request(app).post('/api/routing/explain').set(as(memberToken)).send({ text: 'What is the capital of Australia?' }).expect(200);
    expect(res.body).toMatchObject({ outcome: 'routed', provider: 'anthropic', model: 'claude-haiku-5-5', rule: { name: 'Simple questions → Claude Haiku' }, classification: { taskType: 'qa', complexity: 'simple' }, fallbacksTried: [] });
    expect(res.body.reason).toContain('matched');
  });

  it('applies the conversation\'s pin and data policy; another user\'s or an unknown conversation is 404', async () => {
    const pinned = await request(app).post('/api/routing/explain').set(as(memberToken)).send({ text: 'Write a haiku', conversationId: CONVERSATION }).expect(200);
    expect(pinned.body).toMatchObject({ provider: 'openai', model: 'gpt-6.2-astra', rule: null });
    conversations.set(`member:${CONVERSATION}`, { pin: { provider: 'openai', model: 'gpt-6.2-astra' }, localOnly: true });
    const local = await request(app).post('/api/routing/explain').set(as(memberToken)).send({ text: 'Write a haiku', conversationId: CONVERSATION }).expect(200);
    expect(local.body.provider).toBe('ollama');
    await request(app).post('/api/routing/explain').set(as(otherToken)).send({ text: 'x', conversationId: CONVERSATION }).expect(404);
  });

  it('400 for a missing text or malformed fields', async () => {
    expect((await request(app).post('/api/routing/explain').set(as(memberToken)).send({}).expect(400)).body.error.message).toContain('body.text: text is required');
    expect((await request(app).post('/api/routing/explain').set(as(memberToken)).send({ text: 'x', conversationId: 'abc' }).expect(400)).body.error.message).toContain('body.conversationId: must be a conversation id (uuid)');
    expect((await request(app).post('/api/routing/explain').set(as(memberToken)).send({ text: 'x', attachments: [{ name: 'a', mimeType: 'png' }] }).expect(400)).body.error.message).toContain('expected a MIME type');
  });
});
