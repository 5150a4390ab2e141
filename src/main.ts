/**
 * Composition root: config → database → Valkey → services → HTTP → channels
 * → workers. Channels (the Matrix appservice) and later parts plug in
 * through `MosaicPlugin`, so src/ never imports them.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MosaicConfig } from './config/schema.ts';
import { openDatabase, type Database } from './db/client.ts';
import { runMigrations } from './db/migrate.ts';
import type { Logger } from './logging.ts';
import { AccountService } from './identity/account-service.ts';
import { createHttpApp, type ApiRoute } from './http/app.ts';
import { createMetrics, startMetricsListener, type Metrics } from './http/metrics.ts';
import { answerClientErrors } from './http/edge.ts';
import { Readiness } from './http/readiness.ts';
import { adminUsersRouter, meRouter, tokensRouter } from './http/account-routes.ts';
import { connectValkey, type Redis } from './valkey/client.ts';
import { CredentialStore } from './identity/credential-store.ts';
import { CredentialResolver } from './identity/credential-resolver.ts';
import { secretBoxFromConfig } from './identity/secret-box.ts';
import { credentialRouter } from './http/credential-routes.ts';
import { buildServices, type Services, type ServiceDeps } from './services.ts';
import { providerRouter } from './http/provider-routes.ts';
import { routingRouter } from './http/routing-routes.ts';
import { agentRouter, conversationRouter, usageRouter } from './http/conversation-routes.ts';
import { jobsRouter } from './http/jobs-routes.ts';

/** Everything a plugin (channel, worker set) may use. */
export interface MosaicCore {
  config: MosaicConfig;
  logger: Logger;
  database: Database;
  valkey: Redis;
  accounts: AccountService;
  credentials: CredentialStore;
  credentialResolver: CredentialResolver;
  readiness: Readiness;
  metrics: Metrics;
  services: Services;
}

export interface MosaicPlugin {
  name: string;
  /** Called after the core services exist and before HTTP listens. */
  start(core: MosaicCore): Promise<{ routes?: ApiRoute[]; stop(): Promise<void> }>;
}

export interface RunningMosaic {
  core: MosaicCore;
  httpUrl: string;
  /** GET URL of the metrics listener, null when it is disabled. */
  metricsUrl: string | null;
  server: Server;
  stop(): Promise<void>;
}

export interface StartOptions {
  config: MosaicConfig;
  logger: Logger;
  plugins?: MosaicPlugin[];
  /** Tests shorten the providers' retry waits. */
  providerPolicy?: ServiceDeps['providerPolicy'];
}

export async function startMosaic({ config, logger, plugins = [], providerPolicy }: StartOptions): Promise<RunningMosaic> {
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
  };
  try {
    const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: config.database.poolSize });
    cleanups.push(() => database.close());
    const migrated = await runMigrations(database);
    logger.info({ event: 'db.ready', kind: database.kind, location: database.location, applied: migrated.applied }, 'database ready');

    const valkey = await connectValkey(config.valkey.url);
    cleanups.push(async () => {
      await valkey.quit().catch(() => valkey.disconnect());
    });

    const readiness = new Readiness();
    readiness.add({ name: 'database', required: true, check: async () => (await database.ping(), { ok: true, detail: database.kind }) });
    readiness.add({ name: 'valkey', required: true, check: async () => ({ ok: (await valkey.ping()) === 'PONG' }) });

    const credentials = new CredentialStore(database.db, secretBoxFromConfig(config.secrets));
    if (!config.secrets.key) logger.warn({ event: 'secrets.missing' }, 'MOSAIC_SECRET_KEY is not set: users cannot store their own provider keys');
    const credentialResolver = new CredentialResolver(credentials);
    const services = buildServices({ config, logger, database, valkey, credentials, credentialResolver, ...(providerPolicy ? { providerPolicy } : {}) });
    cleanups.push(() => services.stop());
    await services.start();
    readiness.add({
      name: 'providers',
      required: false,
      check: async () => {
        const records = await services.health.all();
        const usable = records.filter((r) => r.usable && services.providers.get(r.provider)?.hasSystemCredential()).map((r) => r.provider);
        return { ok: usable.length > 0, detail: { usable, statuses: Object.fromEntries(records.map((r) => [r.provider, r.status])) } };
      },
    });
    const core: MosaicCore = {
      config,
      logger,
      database,
      valkey,
      accounts: new AccountService(database.db),
      credentials,
      credentialResolver,
      readiness,
      metrics: createMetrics(),
      services,
    };
    const conversations = services.conversations;
    const routes: ApiRoute[] = [
      { path: '/me', router: meRouter(core.accounts) },
      { path: '/tokens', router: tokensRouter(core.accounts) },
      { path: '/admin/users', router: adminUsersRouter(core.accounts) },
      { path: '/providers/credentials', router: credentialRouter(core.credentials, config.providers.userBaseUrls) },
      { path: '/providers', router: providerRouter({ registry: services.providers, health: services.health, directory: services.models, hasUserCredential: (actor, p) => credentials.has(actor, p) }) },
      {
        path: '/routing',
        router: routingRouter({
          routing: services.routing,
          conversationState: (actor, id) => conversations.routingState(actor, id),
        }),
      },
      { path: '/conversations', router: conversationRouter(conversations) },
      { path: '/agents', router: agentRouter(conversations) },
      { path: '/usage', router: usageRouter(conversations) },
      { path: '/admin/jobs', router: jobsRouter(services.jobs.admin) },
    ];
    for (const plugin of plugins) {
      const started = await plugin.start(core);
      cleanups.push(() => started.stop());
      routes.push(...(started.routes ?? []));
      logger.info({ event: 'plugin.started', plugin: plugin.name }, `${plugin.name} started`);
    }

    const app = createHttpApp({
      logger,
      authenticate: (token) => core.accounts.tokens.authenticate(token),
      readiness,
      metrics: core.metrics,
      bodyLimit: config.http.bodyLimit,
      rateLimitPerMinute: config.http.rateLimitPerMinute,
      routes,
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.http.port, config.http.host, () => resolve(s));
      s.once('error', reject);
    });
    answerClientErrors(server);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const httpUrl = `http://${host}:${address.port}`;
    const metricsListener = config.metrics.enabled ? await startMetricsListener(core.metrics, config.metrics.host, config.metrics.port, logger) : null;
    if (metricsListener) cleanups.push(() => metricsListener.close());
    let stopped: Promise<void> | null = null;
    return {
      core,
      httpUrl,
      metricsUrl: metricsListener?.url ?? null,
      server,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
