/** /api/me, /api/tokens (own tokens) and /api/admin/users. */
import { z } from 'zod';
import type { AccountService } from '../identity/account-service.ts';
import type { ChannelLinkService } from '../identity/channel-link-service.ts';
import { toPublicUser } from '../identity/user-store.ts';
import { badRequest, notFound } from '../errors.ts';
import { channelUserIdSchema } from './link-routes.ts';
import { created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';

/**
 * The account settings a user changes for themselves and an admin for anyone:
 * localOnly keeps every message on local models (Ollama); monthlyBudgetUsd
 * caps cloud spend per calendar month (UTC), null clears it.
 */
const accountSettings = z
  .object({
    localOnly: z.boolean({ error: 'localOnly must be true or false' }).optional().describe('Keep every message on local models (Ollama).'),
    monthlyBudgetUsd: z
      .number({ error: 'monthlyBudgetUsd must be a number of US dollars per month, or null to clear it' })
      .min(0, 'monthlyBudgetUsd cannot be negative; use 0 for free local models only, or null for no budget of your own')
      .max(1_000_000, 'monthlyBudgetUsd is at most 1000000')
      .nullable()
      .optional()
      .describe('Cloud spend cap per calendar month (UTC), in US dollars; null clears it.'),
  })
  .strict()
  .refine((b) => b.localOnly !== undefined || b.monthlyBudgetUsd !== undefined, { error: 'give localOnly and/or monthlyBudgetUsd' });

const publicUser = z.object({
  id: z.uuid(),
  username: z.string(),
  displayName: z.string().nullable(),
  role: z.enum(['admin', 'member']),
  localOnly: z.boolean(),
  monthlyBudgetUsd: z.number().nullable(),
  createdAt: z.string().describe('ISO time'),
  disabledAt: z.string().nullable().describe('ISO time the account was disabled; null while enabled'),
});

const tokenInfo = z.object({ id: z.uuid(), name: z.string(), prefix: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() });

const usernameParam = z.object({ username: z.string().min(1).max(64) });

async function applySettings(accounts: AccountService, userId: string, body: z.infer<typeof accountSettings>): Promise<void> {
  if (body.localOnly !== undefined) await accounts.users.setLocalOnly(userId, body.localOnly);
  if (body.monthlyBudgetUsd !== undefined) await accounts.users.setMonthlyBudget(userId, body.monthlyBudgetUsd);
}

async function publicUserById(accounts: AccountService, id: string) {
  const row = await accounts.users.findById(id);
  if (!row) throw notFound('user');
  return toPublicUser(row);
}

export function meRoutes(accounts: AccountService): RouteGroup {
  return {
    path: '/me',
    tag: 'Account',
    description: 'The account of the token in use.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Your account',
        auth: 'user',
        responses: { 200: { description: 'The account.', body: publicUser } },
        handle: async ({ actor }) => ok(await publicUserById(accounts, actor.userId)),
      }),
      defineRoute({
        method: 'patch',
        path: '/',
        summary: 'Change your own settings (local-only, monthly budget)',
        auth: 'user',
        body: accountSettings,
        responses: { 200: { description: 'The account as changed.', body: publicUser } },
        handle: async ({ actor, body }) => {
          await applySettings(accounts, actor.userId, body);
          return ok(await publicUserById(accounts, actor.userId));
        },
      }),
    ],
  };
}

export function tokensRoutes(accounts: AccountService): RouteGroup {
  return {
    path: '/tokens',
    tag: 'Account',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Your personal access tokens (never the tokens themselves)',
        auth: 'user',
        responses: { 200: { description: 'Newest first.', body: z.object({ tokens: z.array(tokenInfo) }) } },
        handle: async ({ actor }) => ok({ tokens: await accounts.tokens.list(actor) }),
      }),
      defineRoute({
        method: 'post',
        path: '/',
        summary: 'Issue another token for yourself',
        auth: 'user',
        body: z.object({ name: z.string().min(1).max(64).default('api').describe('A name to recognise the token by.') }).strict(),
        responses: { 201: { description: 'The token, shown this once, and its details.', body: tokenInfo.extend({ token: z.string() }) } },
        handle: async ({ actor, body }) => {
          const { token, info } = await accounts.tokens.issue(actor, body.name);
          return created({ token, ...info });
        },
      }),
      defineRoute({
        method: 'delete',
        path: '/:id',
        summary: 'Revoke one of your tokens',
        auth: 'user',
        params: z.object({ id: z.uuid('expected a token id (uuid)') }),
        responses: { 204: { description: 'Revoked.' } },
        handle: async ({ actor, params }) => {
          await accounts.tokens.revoke(actor, params.id);
          return noContent();
        },
      }),
    ],
  };
}

const removals = z.object({
  conversations: z.number(),
  messages: z.number(),
  agents: z.number(),
  tokens: z.number(),
  providerKeys: z.number(),
  memories: z.number(),
  routingRules: z.number(),
  usageRecords: z.number(),
  linkedIdentities: z.number(),
});

/** `links` absent (an app without Valkey): `matrixUserId` is refused. */
export function adminUsersRoutes(accounts: AccountService, links?: ChannelLinkService): RouteGroup {
  return {
    path: '/admin/users',
    tag: 'Admin: users',
    description: 'Accounts, for admins. The same operations as `mosaic user …`.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Every account',
        auth: 'admin',
        responses: { 200: { description: 'Oldest first.', body: z.object({ users: z.array(publicUser) }) } },
        handle: async () => ok({ users: await accounts.listUsers() }),
      }),
      defineRoute({
        method: 'post',
        path: '/',
        summary: 'Create an account',
        auth: 'admin',
        body: z
          .object({
            username: z.string().describe('2–32 characters a-z, 0-9, ".", "_" or "-", starting with a letter or digit.'),
            admin: z.boolean().default(false),
            password: z.string().optional().describe('At least 8 characters; without one, the account signs in with tokens only.'),
            displayName: z.string().max(100).optional(),
            matrixUserId: channelUserIdSchema('matrixUserId')
              .optional()
              .describe("A Matrix user id (such as @alice:example.org) linked to the account at once, in the same transaction; the bot welcomes the person in a direct message. Linked to another account already: 409, nothing is created."),
          })
          .strict(),
        responses: {
          201: {
            description: 'The account and its first token (shown this once); `links` when a Matrix id was linked.',
            body: z.object({ user: publicUser, token: z.string(), links: z.array(z.object({ channel: z.string(), channelUserId: z.string() })).optional() }),
          },
        },
        handle: async ({ actor, body: { matrixUserId, ...body } }) => {
          if (matrixUserId === undefined) return created(await accounts.createUser(body));
          if (!links) throw badRequest('linking is not available on this server');
          const link = { channel: 'matrix', channelUserId: matrixUserId };
          return created({ ...(await links.createAccountWithLink(body, link, actor.username)), links: [link] });
        },
      }),
      defineRoute({
        method: 'patch',
        path: '/:username',
        summary: "Change an account's settings (local-only, monthly budget)",
        auth: 'admin',
        params: usernameParam,
        body: accountSettings,
        responses: { 200: { description: 'The account as changed.', body: publicUser } },
        handle: async ({ params, body }) => {
          const row = await accounts.users.requireByUsername(params.username);
          await applySettings(accounts, row.id, body);
          return ok(await publicUserById(accounts, row.id));
        },
      }),
      defineRoute({
        method: 'post',
        path: '/:username/disable',
        summary: 'Disable an account',
        description: 'Its tokens and logins are refused at once; nothing is deleted. The only enabled admin cannot be disabled (409).',
        auth: 'admin',
        params: usernameParam,
        responses: { 200: { description: 'The account, with `disabledAt` set.', body: publicUser } },
        handle: async ({ params }) => ok(await accounts.setDisabled(params.username, true)),
      }),
      defineRoute({
        method: 'post',
        path: '/:username/enable',
        summary: 'Enable a disabled account',
        description: 'Its existing tokens work again.',
        auth: 'admin',
        params: usernameParam,
        responses: { 200: { description: 'The account, with `disabledAt` null.', body: publicUser } },
        handle: async ({ params }) => ok(await accounts.setDisabled(params.username, false)),
      }),
      defineRoute({
        method: 'get',
        path: '/:username/deletion',
        summary: 'What deleting an account would remove',
        auth: 'admin',
        params: usernameParam,
        responses: { 200: { description: 'Counts of what the account owns.', body: z.object({ user: publicUser, removes: removals }) } },
        handle: async ({ params }) => ok(await accounts.deletionImpact(params.username)),
      }),
      defineRoute({
        method: 'delete',
        path: '/:username',
        summary: 'Delete an account and everything it owns',
        description:
          'Removes the account with its conversations and messages, agents, memories, routing rules, stored provider keys, tokens, usage records and linked chat identities. Matrix rooms stay on the homeserver, without their agent. The only enabled admin cannot be deleted (409). `GET …/deletion` shows the counts first.',
        auth: 'admin',
        params: usernameParam,
        responses: { 200: { description: 'What was removed.', body: z.object({ user: publicUser, removes: removals }) } },
        handle: async ({ params }) => ok(await accounts.deleteUser(params.username)),
      }),
    ],
  };
}
