/**
 * Prometheus metrics. One registry per process, served on a listener of
 * its own (loopback by default), never on the API port: the API may be
 * public, the metrics are not. Labels are bounded by construction: an HTTP
 * request is labelled with the template of the route that answered it
 * (`/api/conversations/:id`), anything no route matched with `unmatched`,
 * so no request can add a series of its own choosing; the domain's series
 * (domain-metrics.ts) bound theirs the same way (metric-labels.ts).
 *
 * Node's default metrics keep their standard names (process_cpu_seconds_total,
 * nodejs_eventloop_lag_seconds, …) so stock dashboards work; Mosaic's own
 * series are `mosaic_*`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../logging.ts';
import type { MetricsPort } from '../metrics/metrics-port.ts';
import { errorMessage } from '../errors.ts';
import { packageVersion } from '../version.ts';
import { createDomainMetrics, type ScrapeSources } from './domain-metrics.ts';
import { allCatalogueModelsKnown, LabelPolicy, type KnownModel } from './metric-labels.ts';
import { listenHttp } from './listen.ts';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  /** What the domain and the job system record through (injected at the composition root). */
  port: MetricsPort;
  /** Values read at scrape time; the composition root plugs each in once its part exists. */
  sources: ScrapeSources;
}

export interface MetricsOptions {
  /** Models that may be label values (knownModels(config)); default: the catalogue's. */
  knownModel?: KnownModel;
  /** Told when a scrape-time source fails (the scrape goes on without it). */
  logger?: Logger;
}

/** Label of requests no route answered (404s, static files, refused before routing). */
export const UNMATCHED = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'mosaic_build_info', help: 'Always 1; the running version as a label', labelNames: ['version'], registers: [registry] }).set({ version: packageVersion() }, 1);
  const labels = new LabelPolicy(options.knownModel ?? allCatalogueModelsKnown());
  const domain = createDomainMetrics(registry, labels, (what, err) => options.logger?.warn({ event: 'metrics.collect_failed', what, err: errorMessage(err) }, `metrics: ${what} could not be read for this scrape`));
  return {
    registry,
    httpRequests: new Counter({ name: 'mosaic_http_requests_total', help: 'HTTP requests by route template and status', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    httpDuration: new Histogram({ name: 'mosaic_http_request_seconds', help: 'HTTP request duration by route template', labelNames: ['method', 'route'], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [registry] }),
    port: domain.port,
    sources: domain.sources,
  };
}

/**
 * Marks the mount path of the routers below it, so the label can name the
 * full template: express keeps only the route's own part in `req.route`.
 */
export function mountedAt(mount: string) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.locals.routeMount = mount;
    next();
  };
}

/** The template label of a finished request. */
export function routeLabel(req: Request, res: Response): string {
  const template = req.route?.path as unknown;
  if (typeof template !== 'string') return UNMATCHED;
  const mount = typeof res.locals.routeMount === 'string' ? res.locals.routeMount : '';
  return mount && template === '/' ? mount : `${mount}${template}`;
}

/** Counts and times every request under its route template. */
export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const method = METHODS.has(req.method) ? req.method : 'OTHER';
    const end = metrics.httpDuration.startTimer({ method });
    res.on('finish', () => {
      const route = routeLabel(req, res);
      end({ route });
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
    });
    next();
  };
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/**
 * GET /metrics on its own port. Nothing else is served there; the listener
 * is unauthenticated, so it binds to loopback unless the operator chooses
 * an interface only Prometheus can reach.
 */
export async function startMetricsListener(metrics: Metrics, host: string, port: number, logger: Logger): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'only GET /metrics is served here' } }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD' }).end(JSON.stringify({ error: { code: 'method_not_allowed', message: 'use GET /metrics' } }));
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        logger.error({ err }, 'metrics could not be collected');
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'internal', message: 'metrics could not be collected' } }));
      },
    );
  });
  // A busy port is one line naming it and the setting, like the API's.
  await listenHttp(server, { port, host, setting: 'METRICS_PORT (metrics.port)' });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
