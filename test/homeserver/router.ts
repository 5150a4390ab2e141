/**
 * A small HTTP router for the test homeserver: Matrix-style path templates
 * (`/rooms/{roomId}/send/{eventType}/{txnId}`), JSON bodies, and errors as
 * the spec's standard error response (`{ errcode, error }`).
 */
import type { IncomingMessage } from 'node:http';

export class MatrixError extends Error {
  constructor(readonly status: number, readonly errcode: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (msg: string) => new MatrixError(403, 'M_FORBIDDEN', msg);
export const notFound = (msg: string) => new MatrixError(404, 'M_NOT_FOUND', msg);
export const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);
export const invalidParam = (msg: string) => new MatrixError(400, 'M_INVALID_PARAM', msg);

export interface RequestContext {
  method: string;
  rawPath: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (undefined when none), or the raw bytes for non-JSON uploads. */
  body: unknown;
  rawBody: Buffer;
}

/** A response other than `200` with a JSON object (a handler may also just return the object). */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    /** For non-JSON responses (media downloads). */
    readonly contentType = 'application/json',
    readonly headers: Record<string, string> = {},
  ) {}
}

export type Handler = (ctx: RequestContext) => Promise<Reply | object> | Reply | object;

interface Route {
  method: string;
  regex: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, template: string, handler: Handler): this {
    const names: string[] = [];
    const regex = new RegExp('^' + template.split('/').map((seg) => {
      const m = /^\{(.+)\}$/.exec(seg);
      if (m) { names.push(m[1]!); return '([^/]*)'; }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }).join('/') + '$');
    this.routes.push({ method, regex, names, handler });
    return this;
  }

  /** Finds the handler; `undefined` when no route matches (the caller answers M_UNRECOGNIZED). */
  match(method: string, rawPath: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.regex.exec(rawPath);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]!); });
      return { handler: r.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

/** Treats a handler's plain-object return as a 200 JSON body. */
export function toReply(value: Reply | object): Reply {
  return value instanceof Reply ? value : new Reply(200, value);
}
