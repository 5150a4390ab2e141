/**
 * The Application Service API the homeserver calls: transactions (current
 * and legacy paths), user and alias queries, ping. The hs_token is checked
 * in constant time, from the Authorization header or the legacy
 * `access_token` parameter; wrong or missing → 403 M_FORBIDDEN, nothing
 * done. A transaction is answered 200 only after its events are stored.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../src/logging.ts';
import { errorMessage } from '../../src/errors.ts';
import { bearerToken } from '../../src/http/auth.ts';
import { textProblem, utf8Length } from '../../src/protocol/json-intake.ts';
import { MAX_ID_BYTES } from './event-limits.ts';
import { listenHttp } from '../../src/http/listen.ts';
import type { MatrixMetrics, TransactionOutcome } from './matrix-metrics.ts';

export interface TransactionBody {
  events: unknown[];
  ephemeral?: unknown[];
}

export interface AppserviceHandlers {
  /** Stores the transaction durably; resolves when it may be acknowledged ('repeat': it was stored before). */
  transaction(txnId: string, bodyHash: string, body: TransactionBody): Promise<'stored' | 'repeat' | void>;
  /** Called after the 200 went out (processing happens then). */
  acknowledged?(txnId: string): void;
  userExists(userId: string): Promise<boolean>;
  aliasExists(alias: string): Promise<boolean>;
  pinged?(transactionId: string | null): void;
}

export interface ListenerOptions {
  hsToken: string;
  maxBodyBytes: number;
  logger: Logger;
  handlers: AppserviceHandlers;
  metrics?: MatrixMetrics;
}

const matrixError = (res: Response, status: number, errcode: string, error: string) => res.status(status).json({ errcode, error });

function tokenOf(req: Request): string | null {
  // The scheme is case-insensitive (RFC 9110); the one parser the REST API uses reads it.
  if (req.headers.authorization) return bearerToken(req);
  const query = req.query.access_token;
  return typeof query === 'string' ? query : null;
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function createAppserviceApp(options: ListenerOptions): express.Express {
  const { logger, handlers } = options;
  const app = express();
  app.disable('x-powered-by');

  app.use((req: Request, res: Response, next: NextFunction) => {
    const token = tokenOf(req);
    if (token === null || !tokensMatch(token, options.hsToken)) {
      logger.warn({ channel: 'matrix', event: 'auth.rejected', path: req.path, reason: token === null ? 'missing' : 'wrong' }, 'homeserver request with a missing or wrong hs_token');
      return void matrixError(res, 403, 'M_FORBIDDEN', 'bad or missing hs_token');
    }
    next();
  });

  const raw = express.raw({ type: () => true, limit: options.maxBodyBytes });
  // Counted once the answer is out (or the connection dropped), refusals by the body parser included.
  const observed = (_req: Request, res: Response, next: NextFunction) => {
    const started = Date.now();
    res.on('close', () => {
      const stored = res.locals.transaction as 'stored' | 'repeat' | undefined;
      const outcome: TransactionOutcome = !res.headersSent || res.statusCode >= 500 ? 'failed' : res.statusCode >= 400 ? 'invalid' : (stored ?? 'stored');
      options.metrics?.transaction(outcome, (Date.now() - started) / 1000);
    });
    next();
  };

  const transaction = async (req: Request, res: Response) => {
    const txnId = String(req.params.txnId);
    // Ids over the spec's 255 bytes cannot be stored (and no homeserver makes them).
    if (utf8Length(txnId) > MAX_ID_BYTES) return void matrixError(res, 400, 'M_INVALID_PARAM', `the transaction id is longer than ${MAX_ID_BYTES} bytes`);
    if (textProblem(txnId)) return void matrixError(res, 400, 'M_INVALID_PARAM', 'the transaction id is not valid text');
    if (!req.is('application/json')) return void matrixError(res, 415, 'M_NOT_JSON', 'a transaction must be sent as Content-Type: application/json');
    const buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let body: unknown;
    try {
      body = JSON.parse(buffer.toString('utf8'));
    } catch {
      return void matrixError(res, 400, 'M_NOT_JSON', 'the body is not JSON');
    }
    if (typeof body !== 'object' || body === null || !Array.isArray((body as TransactionBody).events)) {
      return void matrixError(res, 400, 'M_BAD_JSON', 'a transaction needs an "events" array');
    }
    const hash = createHash('sha256').update(buffer).digest('hex');
    try {
      res.locals.transaction = (await handlers.transaction(txnId, hash, body as TransactionBody)) ?? 'stored';
      const { events, ephemeral } = body as TransactionBody;
      if (res.locals.transaction === 'stored') options.metrics?.received(events, Array.isArray(ephemeral) ? ephemeral : []);
    } catch (err) {
      logger.error({ channel: 'matrix', event: 'transaction.store_failed', txnId, err: errorMessage(err) }, 'transaction could not be stored; the homeserver will retry');
      // No answer at all when the process is going down mid-way; otherwise a 500 asks for a retry.
      if ((err as { crash?: boolean }).crash) return void res.socket?.destroy();
      return void matrixError(res, 500, 'M_UNKNOWN', 'could not store the transaction; retry later');
    }
    res.status(200).json({});
    handlers.acknowledged?.(txnId);
  };
  app.put('/_matrix/app/v1/transactions/:txnId', observed, raw, transaction);
  app.put('/transactions/:txnId', observed, raw, transaction);

  const user = async (req: Request, res: Response) => {
    const userId = String(req.params.userId);
    if (await handlers.userExists(userId)) return void res.status(200).json({});
    matrixError(res, 404, 'M_NOT_FOUND', 'no such agent');
  };
  app.get('/_matrix/app/v1/users/:userId', user);
  app.get('/users/:userId', user);

  const alias = async (req: Request, res: Response) => {
    if (await handlers.aliasExists(String(req.params.alias))) return void res.status(200).json({});
    matrixError(res, 404, 'M_NOT_FOUND', 'no such room');
  };
  app.get('/_matrix/app/v1/rooms/:alias', alias);
  app.get('/rooms/:alias', alias);

  app.post('/_matrix/app/v1/ping', raw, (req: Request, res: Response) => {
    let parsed: { transaction_id?: unknown };
    try {
      parsed = JSON.parse((req.body as Buffer).toString('utf8') || '{}') as { transaction_id?: unknown };
    } catch {
      return void matrixError(res, 400, 'M_NOT_JSON', 'the body is not JSON');
    }
    handlers.pinged?.(typeof parsed.transaction_id === 'string' ? parsed.transaction_id : null);
    res.status(200).json({});
  });

  app.use((_req: Request, res: Response) => void matrixError(res, 404, 'M_UNRECOGNIZED', 'unrecognised request'));

  app.use((err: Error & { type?: string; status?: number }, req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') {
      logger.warn({ channel: 'matrix', event: 'transaction.too_large', path: req.path, limit: options.maxBodyBytes }, 'transaction body too large');
      return void matrixError(res, 413, 'M_TOO_LARGE', `the body is larger than ${options.maxBodyBytes} bytes`);
    }
    logger.error({ channel: 'matrix', event: 'listener.error', path: req.path, err: errorMessage(err) }, 'appservice request failed');
    matrixError(res, err.status && err.status < 500 ? err.status : 500, err.status === 400 ? 'M_BAD_JSON' : 'M_UNKNOWN', err.message);
  });
  return app;
}

export async function listen(app: express.Express, host: string, port: number): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(app);
  // A busy port is one line naming it and the setting to change.
  await listenHttp(server, { port, host, setting: 'APPSERVICE_PORT (matrix.port)' });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
