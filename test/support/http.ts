/** Builds the real HTTP app over a test database, with real tokens. */
import type { Express } from 'express';
import type { RouteGroup } from '../../src/http/route-spec.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { Readiness } from '../../src/http/readiness.ts';
import { createLogger } from '../../src/logging.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import type { Database } from '../../src/db/client.ts';

export function buildTestApp(
  database: Database,
  routes: RouteGroup[] | ((accounts: AccountService) => RouteGroup[]) = [],
  readiness = new Readiness(),
): { app: Express; accounts: AccountService } {
  const accounts = new AccountService(database.db);
  const app = createHttpApp({
    logger: createLogger('silent'),
    authenticate: (token) => accounts.tokens.authenticate(token),
    readiness,
    metrics: createMetrics(),
    bodyLimit: '100kb',
    rateLimitPerMinute: 10_000,
    routes: typeof routes === 'function' ? routes(accounts) : routes,
  });
  return { app, accounts };
}
