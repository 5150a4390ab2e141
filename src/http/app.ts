/**
 * The HTTP surface: health, readiness, metrics and the /api routers that
 * other modules mount. Every failure answers `{ error: { code, message } }`.
 */
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import helmet from 'helmet';
import { rateLimit } from 'express-rate-limit';
import type { Logger } from '../logging.ts';
import { isMosaicError } from '../errors.ts';
import { requireUser, type Authenticate } from './auth.ts';
import type { Metrics } from './metrics.ts';
import type { Readiness } from './readiness.ts';

export interface ApiRoute {
  /** Mounted under /api. */
  path: string;
  router: Router;
  /** Public routes skip bearer authentication. */
  public?: boolean;
}

export interface HttpAppOptions {
  logger: Logger;
  authenticate: Authenticate;
  readiness: Readiness;
  metrics: Metrics;
  bodyLimit: string;
  rateLimitPerMinute: number;
  routes: ApiRoute[];
  /** Static files (the web client), served at / when given. */
  staticDir?: string;
}

export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet({ contentSecurityPolicy: { directives: { 'connect-src': ["'self'", 'ws:', 'wss:'] } } }));

  app.use((req, res, next) => {
    const end = options.metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? (res.statusCode === 404 ? 'unmatched' : req.baseUrl || req.path);
      end({ route });
      options.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await options.readiness.report();
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  const api = express.Router();
  api.use(rateLimit({ windowMs: 60_000, limit: options.rateLimitPerMinute, standardHeaders: 'draft-7', legacyHeaders: false, handler: (_req, res) => {
    res.status(429).json({ error: { code: 'rate_limited', message: 'too many requests; slow down and retry in a minute' } });
  } }));
  api.use(express.json({ limit: options.bodyLimit }));
  const auth = requireUser(options.authenticate);
  for (const route of options.routes) {
    if (route.public) api.use(route.path, route.router);
    else api.use(route.path, auth, route.router);
  }
  app.use('/api', api);
  if (options.staticDir) app.use(express.static(options.staticDir, { index: 'index.html' }));

  app.use((req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: `no route for ${req.method} ${req.path}` } });
  });
  app.use(errorHandler(options.logger));
  return app;
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (isMosaicError(err)) {
      if (err.httpStatus >= 500) logger.error({ err, path: req.path }, 'request failed');
      res.status(err.httpStatus).json({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
      return;
    }
    const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
    if (err?.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'payload_too_large', message: `request body is larger than the limit (${err.limit} bytes)` } });
      return;
    }
    if (err?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'invalid_json', message: 'request body is not valid JSON' } });
      return;
    }
    if (status >= 400 && status < 500) {
      res.status(status).json({ error: { code: 'bad_request', message: String(err?.message ?? 'bad request') } });
      return;
    }
    logger.error({ err, path: req.path }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: 'internal error; the server log has the details' } });
  };
}
