/**
 * `POST /api/auth/login`: a username and password for a personal access
 * token — how the terminal client (`mosaic login`) and scripts sign in
 * without an admin handing them a token. The token is an ordinary one
 * (listed by GET /api/tokens, revoked by DELETE /api/tokens/:id).
 */
import { z } from 'zod';
import type { AccountService } from '../identity/account-service.ts';
import type { PasswordSignIn } from '../identity/password-sign-in.ts';
import type { ClientRateLimit } from './client-rate-limit.ts';
import { created, defineRoute, type RouteGroup } from './route-spec.ts';
import { invalidCredentials, signInLocked } from './web-session-routes.ts';

const signedIn = z.object({
  token: z.string().describe('The new personal access token, shown this once.'),
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  username: z.string(),
  role: z.enum(['admin', 'member']),
});

/** `limit`: password sign-ins per client address per minute (shared with the web client's sign-in). */
export function signInRoutes(signIn: PasswordSignIn, accounts: AccountService, limit?: ClientRateLimit): RouteGroup {
  return {
    path: '/auth',
    tag: 'Account',
    routes: [
      defineRoute({
        method: 'post',
        path: '/login',
        summary: 'Sign in with a username and password: a new personal access token',
        description:
          'Wrong credentials, a disabled account and an account without a password all answer 401 alike. Failed sign-ins are counted per username across every surface (this route, the link page, the web client); each client address may try `web.signInsPerMinute` times a minute (429 `rate_limited`); at the lockout limit (`linking.maxFailedAttempts` within `linking.lockoutMinutes`) the username is locked: 429 with Retry-After.',
        auth: 'public',
        body: z
          .object({
            username: z.string().min(1).max(64),
            password: z.string().min(1).max(1024),
            tokenName: z.string().min(1).max(64).default('login').describe('A name to recognise the token by (e.g. "tui on laptop").'),
          })
          .strict(),
        responses: { 201: { description: 'Signed in: the token (shown this once) and who it belongs to.', body: signedIn } },
        handle: async ({ body }, { req, res }) => {
          await limit?.hit(req);
          const result = await signIn.signIn(body.username, body.password);
          const locked = result.outcome === 'signed-in' ? 0 : result.lockedForSeconds;
          if (result.outcome === 'locked' || locked > 0) {
            res.set('Retry-After', String(locked));
            throw signInLocked(locked);
          }
          if (result.outcome === 'refused') throw invalidCredentials();
          const { token, info } = await accounts.tokens.issue(result.actor, body.tokenName);
          return created({ token, id: info.id, name: info.name, prefix: info.prefix, createdAt: info.createdAt.toISOString(), username: result.actor.username, role: result.actor.role });
        },
      }),
    ],
  };
}
