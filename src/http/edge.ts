/**
 * What every request meets before a route and every error on its way out:
 * the content type a body must have, the intake check of everything parsed
 * (body, query string, path), and the one error shape
 * `{ error: { code, message } }` for whatever failed — a route, express,
 * body-parser, or Node's HTTP parser itself (431 and friends).
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging.ts';
import { databaseFailure, isMosaicError, MosaicError, outageOf } from '../errors.ts';
import { dependencyUnavailable, RETRY_AFTER_SECONDS, type DependencyName } from './dependency-gate.ts';
import { routeLabel } from './metrics.ts';
import { API_LIMITS, inspectJson, textProblem, type IntakeProblem } from '../protocol/json-intake.ts';

/** The code of an error status when nothing more specific is known. */
const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

export function errorBody(code: string, message: string, details?: Record<string, unknown>): { error: { code: string; message: string; details?: Record<string, unknown> } } {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

/** Whether a request carries a body at all (the test body-parser itself uses). */
function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * A body must be JSON and say so. Without this, body-parser skips a body of
 * another type and a route sees "no fields": JSON sent as text/plain would
 * create an object with defaults. A request without a body passes (routes
 * that need fields refuse it themselves).
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (!hasBody(req) || req.is('application/json')) return next();
  const type = req.headers['content-type'];
  next(new MosaicError('unsupported_media_type', `request bodies must be JSON sent as "Content-Type: application/json"${type ? ` (got "${type.slice(0, 100)}")` : ' (no Content-Type was sent)'}`, { httpStatus: 415 }));
}

/** The decoded request path, or null when it does not decode (express refuses those itself). */
function decodedPath(req: Request): string | null {
  try {
    return decodeURIComponent(req.path);
  } catch {
    return null;
  }
}

/** The path and query string, checked by the one intake walk before any route sees them. */
export function checkRequestLine(req: Request, _res: Response, next: NextFunction): void {
  const path = decodedPath(req);
  const pathProblem = path === null ? null : textProblem(path);
  if (pathProblem) return next(new MosaicError('bad_request', `the request path contains ${pathProblem === 'nul' ? 'a NUL character (U+0000)' : 'invalid Unicode'}`, { httpStatus: 400, details: { field: 'path', reason: pathProblem } }));
  next(intakeError(inspectJson(req.query, API_LIMITS, 'query')));
}

/** The parsed body, checked by the same walk before any route sees it. */
export function checkBody(req: Request, _res: Response, next: NextFunction): void {
  next(req.body === undefined ? undefined : intakeError(inspectJson(req.body, API_LIMITS, 'body')));
}

function intakeError(found: IntakeProblem | null): MosaicError | undefined {
  return found ? new MosaicError('bad_request', found.message, { httpStatus: 400, details: { field: found.path, reason: found.reason } }) : undefined;
}

/** Every API answer is someone's private data (and some carry a token shown once): no cache keeps it. */
export function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.set('Cache-Control', 'no-store');
  next();
}

const UNIQUE_VIOLATION = '23505';

/** body-parser's own failures, by its `type`. */
const PARSER_ERRORS: Record<string, { status: number; code: string; message: (err: { limit?: number; charset?: string; encoding?: string }) => string }> = {
  'entity.too.large': { status: 413, code: 'payload_too_large', message: (e) => `request body is larger than the limit (${e.limit} bytes)` },
  'entity.parse.failed': { status: 400, code: 'invalid_json', message: () => 'request body is not valid JSON' },
  'charset.unsupported': { status: 415, code: 'unsupported_media_type', message: (e) => `unsupported charset "${String(e.charset).slice(0, 40)}"; send UTF-8` },
  'encoding.unsupported': { status: 415, code: 'unsupported_media_type', message: (e) => `unsupported content encoding "${String(e.encoding).slice(0, 40)}"` },
  'request.aborted': { status: 400, code: 'bad_request', message: () => 'the request was aborted before its body arrived' },
  'request.size.invalid': { status: 400, code: 'bad_request', message: () => 'the body is not as long as Content-Length says' },
};

/**
 * The one error shape. An error that says the database or Valkey is out is
 * a 503 with Retry-After, never a 500: it goes to `onOutage` (which logs it
 * once per outage and makes the next requests fail fast), not to the log
 * line by line — a failed statement's text would carry its values.
 */
export function errorHandler(logger: Logger, onOutage?: (dependency: DependencyName, err: unknown) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let status: number;
    let body: ReturnType<typeof errorBody>;
    const parser = typeof err?.type === 'string' ? PARSER_ERRORS[err.type] : undefined;
    const outage = isMosaicError(err) ? null : outageOf(err);
    if (outage) {
      onOutage?.(outage, err);
      if (!onOutage) logger.error({ event: `${outage}.unavailable`, method: req.method, route: routeLabel(req, res) }, `${outage} unavailable`);
      const unavailable = dependencyUnavailable(outage);
      status = 503;
      body = errorBody(unavailable.code, unavailable.message, unavailable.details);
    } else if (isMosaicError(err)) {
      status = err.httpStatus;
      body = errorBody(err.code, err.message, err.details);
      // A refusal while a dependency is out is expected, and logged once per outage by the gate.
      if (status >= 500 && err.code !== 'service_unavailable') logger.error({ err, method: req.method, route: routeLabel(req, res) }, 'request failed');
    } else if (databaseFailure(err)?.code === UNIQUE_VIOLATION) {
      // Two requests raced past a route's own check: the database's unique index answers.
      status = 409;
      body = errorBody('conflict', 'this conflicts with something that already exists; reload and try again');
    } else if (parser) {
      status = parser.status;
      body = errorBody(parser.code, parser.message(err));
    } else {
      const raw = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
      status = raw >= 400 && raw < 600 ? raw : 500;
      if (status < 500) body = errorBody(STATUS_CODES[status] ?? 'bad_request', String(err?.message ?? 'bad request').slice(0, 300));
      else {
        logger.error({ err, method: req.method, route: routeLabel(req, res) }, 'unhandled error');
        body = errorBody('internal', 'internal error; the server log has the details');
      }
    }
    if (status === 503 && !res.get('Retry-After')) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    if (status === 401) res.set('WWW-Authenticate', req.headers.authorization ? 'Bearer realm="mosaic", error="invalid_token"' : 'Bearer realm="mosaic"');
    res.status(status).json(body);
  };
}

/** The answer to a request Node's HTTP parser refused before express saw it. */
function rawError(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify(errorBody(code, message));
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`;
}

const CLIENT_ERRORS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: rawError(431, 'Request Header Fields Too Large', 'headers_too_large', 'the request line and headers are larger than the server accepts (16 KB); send less in the URL or the headers'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: rawError(413, 'Payload Too Large', 'payload_too_large', 'chunk extensions are larger than the server accepts'),
};
const BAD_REQUEST = rawError(400, 'Bad Request', 'bad_request', 'the request is not valid HTTP');
const TIMEOUT = rawError(408, 'Request Timeout', 'request_timeout', 'the request took too long to arrive');

/**
 * Node answers what its HTTP parser refuses (an oversized header block, a
 * malformed request line) with a bare status and no body; this answers in
 * the one error shape instead.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = (err.code && CLIENT_ERRORS[err.code]) ?? (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? TIMEOUT : BAD_REQUEST);
    socket.end(answer);
  });
}
