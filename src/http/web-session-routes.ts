/**
 * /api/auth/session: the web client signs in with a username and password
 * and gets a session cookie (HttpOnly, SameSite=Strict, Secure over https),
 * reads its session back (with the CSRF token its requests echo), and signs
 * out. The password check and its per-username lockout are PasswordSignIn's,
 * shared with every other surface that takes a password.
 */
import { z } from 'zod';
import { badRequest, MosaicError } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import type { PasswordSignIn } from '../identity/password-sign-in.ts';
import type { ResolvedWebSession } from '../identity/web-session-store.ts';
import type { ClientRateLimit } from './client-rate-limit.ts';
import { created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';
import { csrfRefused, requestOrigin, sameOrigin, sessionIdOf, setSessionCookie, type WebSessionAuth } from './web-session-auth.ts';

const sessionBody = z.object({
  user: z.object({ id: z.uuid(), username: z.string(), role: z.enum(['admin', 'member']) }),
  csrfToken: z.string().describe('Send it as `X-CSRF-Token` with every request that changes something.'),
  expiresAt: z.string().describe('ISO time the session ends.'),
});

const minutes = (seconds: number) => Math.max(1, Math.ceil(seconds / 60));

/** The lockout answer every password surface gives (429 with Retry-After). */
export function signInLocked(seconds: number): MosaicError {
  return new MosaicError('sign_in_locked', `too many failed sign-ins for this username; try again in ${minutes(seconds)} minute(s)`, { httpStatus: 429, retryable: true, details: { retryAfterSeconds: seconds } });
}

export const invalidCredentials = (): MosaicError =>
  new MosaicError('invalid_credentials', 'wrong username or password (or the account is disabled or has no password: ask your admin)', { httpStatus: 401 });

export function webSessionRoutes(d: { signIn: PasswordSignIn; sessions: WebSessionAuth; limit: ClientRateLimit; identifyToken: (token: string) => Promise<{ actor: Actor; tokenId: string } | null> }): RouteGroup {
  const view = (s: { actor: { userId: string; username: string; role: 'admin' | 'member' }; csrfToken: string; expiresAt: Date }) => ({
    user: { id: s.actor.userId, username: s.actor.username, role: s.actor.role },
    csrfToken: s.csrfToken,
    expiresAt: s.expiresAt.toISOString(),
  });
  return {
    path: '/auth/session',
    tag: 'Account',
    description: 'The web client\'s sign-in: a session cookie instead of a token.',
    routes: [
      defineRoute({
        method: 'post',
        path: '/',
        summary: 'Sign in to the web client (a password, or a personal access token): a session cookie',
        description:
          'With a username and password, or with a personal access token (`token`, for accounts without a password). Sets an HttpOnly, SameSite=Strict session cookie (Secure over https) that authenticates the REST API and the socket from the Mosaic page. Same-origin only. Failed sign-ins count toward the per-username lockout every password surface shares (429 `sign_in_locked`), and each client address may try `web.signInsPerMinute` times a minute (429 `rate_limited`). Wrong credentials, a disabled account and one without a password all answer 401 alike.',
        auth: 'public',
        body: z
          .object({
            username: z.string().min(1).max(64).optional(),
            password: z.string().min(1).max(1024).optional(),
            token: z.string().min(1).max(200).optional().describe('A personal access token instead of a username and password (accounts without a password).'),
          })
          .strict()
          .refine((b) => (b.token !== undefined ? b.username === undefined && b.password === undefined : b.username !== undefined && b.password !== undefined), {
            error: 'give a username and a password, or a token',
          }),
        responses: { 201: { description: 'Signed in; the cookie is set.', body: sessionBody } },
        handle: async ({ body }, { req, res }) => {
          // Login CSRF: another site must not sign the browser in to an account of its choosing.
          if (!sameOrigin(req, requestOrigin(req), d.sessions.origins)) throw csrfRefused('sign in from the Mosaic page itself (Origin / Sec-Fetch-Site)');
          await d.limit.hit(req);
          if (body.token !== undefined) {
            const found = await d.identifyToken(body.token);
            if (!found) throw new MosaicError('invalid_credentials', 'this token is unknown, revoked or expired, or its account is disabled', { httpStatus: 401 });
            const { actor } = found;
            // The session stands for the token: revoking it ends the session too.
            const session = await d.sessions.store.create(actor, found.tokenId);
            setSessionCookie(req, res, session.sessionId, d.sessions.store.lifetimeSeconds);
            return created(view({ actor, csrfToken: session.csrfToken, expiresAt: session.expiresAt }));
          }
          const result = await d.signIn.signIn(body.username!, body.password!);
          const locked = result.outcome === 'signed-in' ? 0 : result.lockedForSeconds;
          if (result.outcome === 'locked' || locked > 0) {
            res.set('Retry-After', String(locked));
            throw signInLocked(locked);
          }
          if (result.outcome === 'refused') throw invalidCredentials();
          const session = await d.sessions.store.create(result.actor);
          setSessionCookie(req, res, session.sessionId, d.sessions.store.lifetimeSeconds);
          return created(view({ actor: result.actor, csrfToken: session.csrfToken, expiresAt: session.expiresAt }));
        },
      }),
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'The signed-in web session: who, its CSRF token, when it ends',
        auth: 'user',
        responses: { 200: { description: 'The session.', body: sessionBody } },
        handle: async (_input, { res }) => ok(view(webSessionOf(res.locals.webSession))),
      }),
      defineRoute({
        method: 'delete',
        path: '/',
        summary: 'Sign out of the web client',
        description: 'Ends the session on every replica (sockets it opened are closed within `live.authRecheckMs`) and clears the cookie. Needs the CSRF token, as every change does.',
        auth: 'user',
        responses: { 204: { description: 'Signed out.' } },
        handle: async (_input, { req, res }) => {
          webSessionOf(res.locals.webSession);
          const id = sessionIdOf(req);
          if (id) await d.sessions.store.remove(id);
          setSessionCookie(req, res, '', 0);
          return noContent();
        },
      }),
    ],
  };
}

/** The request's web session; a request signed in with a token has none. */
function webSessionOf(found: unknown): ResolvedWebSession {
  if (!found) throw badRequest('this request is signed in with a token, not a web session: tokens are revoked with DELETE /api/tokens/:id');
  return found as ResolvedWebSession;
}
