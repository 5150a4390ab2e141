/** /api/me, /api/tokens (own tokens) and /api/admin/users. */
import { Router } from 'express';
import { z } from 'zod';
import type { AccountService } from '../identity/account-service.ts';
import { toPublicUser } from '../identity/user-store.ts';
import { notFound } from '../errors.ts';
import { actorOf, requireAdmin } from './auth.ts';
import { parseInput } from './validate.ts';

/**
 * The account settings a user changes for themselves and an admin for anyone:
 * localOnly keeps every message on local models (Ollama); monthlyBudgetUsd
 * caps cloud spend per calendar month (UTC), null clears it.
 */
const accountSettings = z
  .object({
    localOnly: z.boolean({ error: 'localOnly must be true or false' }).optional(),
    monthlyBudgetUsd: z
      .number({ error: 'monthlyBudgetUsd must be a number of US dollars per month, or null to clear it' })
      .min(0, 'monthlyBudgetUsd cannot be negative; use 0 for free local models only, or null for no budget of your own')
      .max(1_000_000, 'monthlyBudgetUsd is at most 1000000')
      .nullable()
      .optional(),
  })
  .strict()
  .refine((b) => b.localOnly !== undefined || b.monthlyBudgetUsd !== undefined, { error: 'give localOnly and/or monthlyBudgetUsd' });

async function applySettings(accounts: AccountService, userId: string, body: z.infer<typeof accountSettings>): Promise<void> {
  if (body.localOnly !== undefined) await accounts.users.setLocalOnly(userId, body.localOnly);
  if (body.monthlyBudgetUsd !== undefined) await accounts.users.setMonthlyBudget(userId, body.monthlyBudgetUsd);
}

export function meRouter(accounts: AccountService): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    const actor = actorOf(res);
    const row = await accounts.users.findById(actor.userId);
    if (!row) throw notFound('user');
    res.json(toPublicUser(row));
  });
  r.patch('/', async (req, res) => {
    const actor = actorOf(res);
    const body = parseInput(accountSettings, req.body ?? {});
    await applySettings(accounts, actor.userId, body);
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
  r.patch('/:username', async (req, res) => {
    const row = await accounts.users.requireByUsername(parseInput(z.string().min(1).max(64), req.params.username, 'username'));
    const body = parseInput(accountSettings, req.body ?? {});
    await applySettings(accounts, row.id, body);
    const updated = await accounts.users.findById(row.id);
    if (!updated) throw notFound(`user "${row.username}"`);
    res.json(toPublicUser(updated));
  });
  return r;
}
