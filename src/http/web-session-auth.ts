/**
 * The web client's session cookie at the HTTP edge: reading and setting it,
 * and the checks a cookie-authenticated request must pass. A cookie is sent
 * by the browser on its own, so a request it authenticates must prove it
 * comes from our page: a state-changing request must be same-origin (its
 * `Origin`, or `Sec-Fetch-Site`, says so) and carry the session's CSRF token
 * in `X-CSRF-Token`, which only our page can read. `SameSite=Strict` keeps
 * the cookie off cross-site requests to begin with.
 */
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { MosaicError, unauthorized } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import type { ResolvedWebSession, WebSessionStore } from '../identity/web-session-store.ts';

/** Over https the cookie is `__Host-` prefixed: the browser then insists on Secure, Path=/ and no Domain. */
export const SESSION_COOKIE = 'mosaic_session';
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie of the request (the last one when repeated), or null. */
export function readCookie(req: Pick<IncomingMessage, 'headers'>, name: string): string | null {
  const header = req.headers.cookie;
  if (!header || header.length > 8192) return null;
  let found: string | null = null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    found = part.slice(eq + 1).trim();
  }
  return found;
}

export function sessionIdOf(req: Pick<IncomingMessage, 'headers'>): string | null {
  return readCookie(req, SECURE_SESSION_COOKIE) ?? readCookie(req, SESSION_COOKIE);
}

/** Set-Cookie for a new session (maxAgeSeconds > 0) or for ending one (0). */
export function sessionCookie(secure: boolean, value: string, maxAgeSeconds: number): string {
  const name = secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function setSessionCookie(req: Request, res: Response, value: string, maxAgeSeconds: number): void {
  const cookies = [sessionCookie(req.secure, value, maxAgeSeconds)];
  // Ending a session clears whichever name a proxy change may have left behind.
  if (maxAgeSeconds === 0) cookies.push(sessionCookie(!req.secure, '', 0));
  res.append('Set-Cookie', cookies);
}

export interface OriginPolicy {
  /** Origins the page is served from besides the request's own (http.publicUrl behind a proxy that rewrites Host). */
  extraOrigins: string[];
}

/**
 * Whether the request comes from one of our pages. `Sec-Fetch-Site` (sent by
 * every current browser) must be same-origin when present; `Origin` must be
 * ours when present; one of the two must be there.
 */
export function sameOrigin(req: IncomingMessage, ownOrigin: string | null, policy: OriginPolicy): boolean {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (site === undefined && origin === undefined) return false;
  if (site !== undefined && site !== 'same-origin') return false;
  if (origin !== undefined) return (ownOrigin !== null && origin === ownOrigin) || policy.extraOrigins.includes(origin);
  return true;
}

/** The origin the request was addressed to, as the app sees it (`trust proxy: loopback`). */
export function requestOrigin(req: Request): string | null {
  const host = req.get('host');
  return host ? `${req.protocol}://${host}` : null;
}

export const csrfRefused = (message: string): MosaicError => new MosaicError('csrf_refused', message, { httpStatus: 403 });

export interface WebSessionAuth {
  store: WebSessionStore;
  origins: OriginPolicy;
  /**
   * The actor of a request signed in with the session cookie, or null when
   * it carries none. Throws 401 when the session ended, 403 when a
   * state-changing request fails the same-origin or CSRF check.
   */
  authenticate(req: Request, res: Response): Promise<Actor | null>;
  /** The session behind the request's cookie, checked as `authenticate` does. */
  session(req: Request): Promise<ResolvedWebSession | null>;
}

export function webSessionAuth(store: WebSessionStore, origins: OriginPolicy): WebSessionAuth {
  const session = async (req: Request): Promise<ResolvedWebSession | null> => {
    const id = sessionIdOf(req);
    if (id === null) return null;
    const found = await store.resolve(id);
    if (!found) throw unauthorized('your web sign-in has ended (expired, signed out, or the account was disabled); sign in again');
    if (!SAFE_METHODS.has(req.method)) {
      if (!sameOrigin(req, requestOrigin(req), origins)) throw csrfRefused('a signed-in browser request that changes something must come from the Mosaic page itself (Origin / Sec-Fetch-Site)');
      const token = req.get(CSRF_HEADER);
      if (!token || !found.csrfMatches(token)) throw csrfRefused(`a signed-in browser request that changes something must carry the session's CSRF token in ${CSRF_HEADER} (GET /api/auth/session has it)`);
    }
    return found;
  };
  return {
    store,
    origins,
    session,
    async authenticate(req, res) {
      const found = await session(req);
      if (!found) return null;
      res.locals.webSession = found;
      return found.actor;
    },
  };
}
