/**
 * How an API route is declared: method, path, who may call it, the zod
 * schemas of its path parameters, query and body, what it answers, and its
 * handler. One declaration feeds both the express router (which validates
 * with exactly these schemas before the handler runs) and the OpenAPI
 * document (src/http/openapi.ts), so the two cannot disagree. See docs/api.md.
 */
import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Actor } from '../identity/actor.ts';
import { forbidden, unauthorized } from '../errors.ts';
import { parseInput } from './validate.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** public: no token; user: any valid token; admin: an admin's token. */
export type RouteAuth = 'public' | 'user' | 'admin';

export interface ResponseSpec {
  description: string;
  /** The body's shape, when worth documenting (JSON unless `contentType` says otherwise). */
  body?: z.ZodType;
  contentType?: string;
}

/** What a handler answers: a status and a JSON body (none for 204). */
export interface RouteReply {
  status: number;
  body?: unknown;
}

export interface RouteInput<P, Q, B, A extends RouteAuth> {
  params: P;
  query: Q;
  body: B;
  actor: A extends 'public' ? Actor | null : Actor;
}

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteSpec<PS extends z.ZodType | undefined = z.ZodType | undefined, QS extends z.ZodType | undefined = z.ZodType | undefined, BS extends z.ZodType | undefined = z.ZodType | undefined, A extends RouteAuth = RouteAuth> {
  method: HttpMethod;
  /** Express path within its group (`/:id/messages`); `:name` segments are described by `params`. */
  path: string;
  summary: string;
  description?: string;
  auth: A;
  params?: PS;
  query?: QS;
  body?: BS;
  /** Every success status the route answers; errors are documented for all routes alike. */
  responses: Record<number, ResponseSpec>;
  /**
   * Returns the reply, or nothing when it wrote the response itself (a
   * stream: server-sent events, a download) through `http.res`.
   */
  handle(input: RouteInput<Out<PS>, Out<QS>, Out<BS>, A>, http: { req: Request; res: Response }): Promise<RouteReply | void>;
}

/** A declared route with its types erased, as groups hold them. */
export type AnyRouteSpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined, RouteAuth>;

/** Declares a route; the handler's input is typed from the schemas. */
export function defineRoute<PS extends z.ZodType | undefined = undefined, QS extends z.ZodType | undefined = undefined, BS extends z.ZodType | undefined = undefined, A extends RouteAuth = RouteAuth>(
  spec: RouteSpec<PS, QS, BS, A>,
): AnyRouteSpec {
  return spec as unknown as AnyRouteSpec;
}

/** Routes mounted together under /api<path>, one tag in the reference. */
export interface RouteGroup {
  /** Mount point under /api (`/conversations`). */
  path: string;
  /** Heading in the reference (`Conversations`). */
  tag: string;
  description?: string;
  routes: AnyRouteSpec[];
}

export const ok = (body: unknown): RouteReply => ({ status: 200, body });
export const created = (body: unknown): RouteReply => ({ status: 201, body });
export const accepted = (body: unknown): RouteReply => ({ status: 202, body });
export const noContent = (): RouteReply => ({ status: 204 });

/** Marks an express handler with the declaration it runs (`{ spec, group }`), so tests can compare what runs with what is documented. */
export const SPEC = Symbol.for('mosaic.routeSpec');

export type AuthenticateRequest = (req: Request, res: Response) => Promise<Actor | null>;

/**
 * The express router of a group: per route, authentication, then validation
 * of params, query and body with the declared schemas, then the handler.
 * Nothing the handler receives has skipped validation.
 */
export function groupRouter(group: RouteGroup, authenticate: AuthenticateRequest): Router {
  const router = Router();
  for (const spec of group.routes) {
    const handler = async (req: Request, res: Response): Promise<void> => {
      let actor: Actor | null = null;
      if (spec.auth !== 'public') {
        actor = await authenticate(req, res);
        if (!actor) throw unauthorized();
        if (spec.auth === 'admin' && actor.role !== 'admin') throw forbidden();
      }
      const input = {
        params: spec.params ? parseInput(spec.params, req.params, 'params') : {},
        query: spec.query ? parseInput(spec.query, req.query, 'query') : {},
        body: spec.body ? parseInput(spec.body, req.body ?? {}, 'body') : {},
        actor,
      };
      const reply = await spec.handle(input as never, { req, res });
      if (!reply || res.headersSent) return;
      if (reply.body === undefined) res.status(reply.status).end();
      else res.status(reply.status).json(reply.body);
    };
    Object.defineProperty(handler, SPEC, { value: { spec, group } });
    router[spec.method](spec.path, handler);
  }
  return router;
}
