/** /api/me, /api/tokens (own tokens) and /api/admin/users. */
import { Router } from 'express';
import { z } from 'zod';
import type { AccountService } from '../identity/account-service.ts';
import { toPublicUser } from '../identity/user-store.ts';
import { notFound } from '../errors.ts';
import { actorOf, requireAdmin } from './auth.ts';
import { parseInput } from './validate.ts';

export function meRouter(accounts: AccountService): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    const actor = actorOf(res);
    const row = await accounts.users.findById(actor.userId);
    if (!row) throw notFound('user');
    res.json(toPublicUser(row));
  });
  // localOnly: every message of this user only ever goes to local models (Ollama).
  r.patch('/', async (req, res) => {
    const actor = actorOf(res);
    const body = parseInput(z.object({ localOnly: z.boolean() }).strict(), req.body ?? {});
    await accounts.users.setLocalOnly(actor.userId, body.localOnly);
    const row = await accounts.users.findById(actor.userId);
    if (!row) throw notFound('user');
    res.json(toPublicUser(row));
  });
  return r;
}

export function tokensRouter(accounts: AccountService): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    res.json({ tokens: await accounts.tokens.list(actorOf(res)) });
  });
  r.post('/', async (req, res) => {
    const body = parseInput(z.object({ name: z.string().min(1).max(64).default('api') }).strict(), req.body ?? {});
    const { token, info } = await accounts.tokens.issue(actorOf(res), body.name);
    res.status(201).json({ token, ...info });
  });
  r.delete('/:id', async (req, res) => {
    const id = parseInput(z.uuid(), req.params.id, 'id');
    await accounts.tokens.revoke(actorOf(res), id);
    res.status(204).end();
  });
  return r;
}

export function adminUsersRouter(accounts: AccountService): Router {
  const r = Router();
  r.use(requireAdmin);
  r.get('/', async (_req, res) => {
    res.json({ users: await accounts.listUsers() });
  });
  r.post('/', async (req, res) => {
    const body = parseInput(
      z.object({ username: z.string(), admin: z.boolean().default(false), password: z.string().optional(), displayName: z.string().max(100).optional() }).strict(),
      req.body,
    );
    const created = await accounts.createUser(body);
    res.status(201).json(created);
  });
  return r;
}
