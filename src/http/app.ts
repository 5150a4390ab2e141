/**
 * The HTTP surface: health, readiness and the /api routers that other
 * modules mount. Every failure answers `{ error: { code, message } }`
 * (src/http/edge.ts); metrics are served on their own listener
 * (src/http/metrics.ts), never here.
 */
import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { rateLimit, type Store } from 'express-rate-limit';
import type { Logger } from '../logging.ts';
import { MosaicError } from '../errors.ts';
import { authenticateRequest, type Authenticate, type RequestAuthenticator } from './auth.ts';
import { webClient } from './web-client.ts';
import { httpMetrics, mountedAt, type Metrics } from './metrics.ts';
import { groupRouter, type RouteGroup } from './route-spec.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { referenceRoutes } from './reference-routes.ts';
import type { Readiness } from './readiness.ts';
import { checkBody, checkRequestLine, errorBody, errorHandler, noStore, requireJsonBody } from './edge.ts';
import { allowedMethods } from './route-table.ts';
import type { DependencyGate } from './dependency-gate.ts';

export interface HttpAppOptions {
  logger: Logger;
  authenticate: Authenticate;
  /** Ways a request without an Authorization header may be signed in (the web client's session cookie). */
  requestAuthenticators?: RequestAuthenticator[];
  readiness: Readiness;
  metrics: Metrics;
  bodyLimit: string;
  rateLimitPerMinute: number;
  /** Where the limiter counts (Valkey, shared by replicas); in this process when not given. */
  rateLimitStore?: Store;
  /** Every /api route, declared (src/http/route-spec.ts): mounted here and documented at /api/openapi.json. */
  routes: RouteGroup[];
  /** Shown in the API reference. */
  version?: string;
  /** Server-rendered pages outside /api (the link page), mounted at their path; public, counted by the /api rate limit. */
  pages?: Array<{ path: string; router: Router }>;
  /** The web client's build (index.html and its assets), served at / when given; its pages' paths answer index.html. */
  staticDir?: string;
  /** While the database or Valkey is out, /api answers 503 with Retry-After at once (src/http/dependency-gate.ts). */
  dependencies?: DependencyGate;
}

export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet({ contentSecurityPolicy: { directives: { 'connect-src': ["'self'", 'ws:', 'wss:'] } } }));
  app.use(httpMetrics(options.metrics));
  app.use(checkRequestLine);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await options.readiness.report();
    res.status(report.ready ? 200 : 503).json(report);
  });

  // One limiter for /api and the pages: a client's requests count together, where the store says.
  const limiter =
    rateLimit({ windowMs: 60_000, limit: options.rateLimitPerMinute, standardHeaders: 'draft-7', legacyHeaders: false, ...(options.rateLimitStore ? { store: options.rateLimitStore, passOnStoreError: true } : {}), handler: (_req, res) => {
      res.status(429).json(errorBody('rate_limited', 'too many requests; slow down and retry in a minute'));
    } });
  const api = express.Router();
  api.use(noStore);
  if (options.dependencies) api.use(options.dependencies.middleware());
  api.use(limiter);
  api.use(requireJsonBody);
  api.use(express.json({ limit: options.bodyLimit }));
  api.use(checkBody);
  const authenticate = authenticateRequest(options.authenticate, options.requestAuthenticators ?? []);
  const groups = [...options.routes, referenceRoutes(() => document)];
  const document = buildOpenApiDocument(groups, { version: options.version ?? 'dev' });
  for (const group of groups) api.use(group.path || '/', mountedAt(`/api${group.path}`), groupRouter(group, authenticate));
  app.use('/api', api);
  for (const p of options.pages ?? []) app.use(p.path, mountedAt(p.path), limiter, p.router);
  if (options.staticDir) app.use(webClient(options.staticDir));

  app.use((req, res, next) => {
    const allowed = allowedMethods(app, req.path);
    if (allowed.length > 0) {
      res.set('Allow', allowed.join(', '));
      return next(new MosaicError('method_not_allowed', `${req.method} is not allowed here; allowed: ${allowed.join(', ')}`, { httpStatus: 405 }));
    }
    next(new MosaicError('not_found', `no route for ${req.method} ${req.path.slice(0, 200)}`, { httpStatus: 404 }));
  });
  const gate = options.dependencies;
  app.use(errorHandler(options.logger, gate ? (dependency, err) => gate.failed(dependency, err) : undefined));
  return app;
}
