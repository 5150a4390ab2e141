/** Request authentication (a bearer token, or the web client's session cookie) and the admin role check. */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { forbidden, unauthorized } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';

export type Authenticate = (token: string) => Promise<Actor | null>;

/**
 * Another way a request may be signed in (the web session cookie): the
 * actor, null when the request does not use this way, or a throw when it
 * does and fails.
 */
export type RequestAuthenticator = (req: Request, res: Response) => Promise<Actor | null>;

/** The token of `Authorization: Bearer <token>` (REST and the live connections). */
export function bearerToken(req: Pick<IncomingMessage, 'headers'>): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * The request's actor (also kept in res.locals.actor), or a 401 saying what
 * is wrong. An Authorization header decides alone; without one, the other
 * ways (`others`, the session cookie) are tried.
 */
export function authenticateRequest(authenticate: Authenticate, others: RequestAuthenticator[] = []) {
  return async (req: Request, res: Response): Promise<Actor> => {
    if (req.headers.authorization === undefined) {
      for (const other of others) {
        const actor = await other(req, res);
        if (actor) {
          res.locals.actor = actor;
          return actor;
        }
      }
    }
    const token = bearerToken(req);
    if (!token) throw unauthorized('send a personal access token as "Authorization: Bearer <token>" (create one with `mosaic user token <name>`), or sign in to the web client');
    const actor = await authenticate(token);
    if (!actor) throw unauthorized('this token is unknown, revoked or expired, or its account is disabled');
    res.locals.actor = actor;
    return actor;
  };
}

export function requireUser(authenticate: Authenticate) {
  const check = authenticateRequest(authenticate);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    await check(req, res);
    next();
  };
}

export function requireAdmin(req: Request, res: Response, next: NextFunction): void {
  const actor = res.locals.actor as Actor | undefined;
  if (!actor) throw unauthorized();
  if (actor.role !== 'admin') throw forbidden();
  next();
}

export function actorOf(res: Response): Actor {
  const actor = res.locals.actor as Actor | undefined;
  if (!actor) throw unauthorized();
  return actor;
}
