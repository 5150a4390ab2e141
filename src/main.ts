/**
 * Composition root: config → database → Valkey → services → HTTP → channels
 * → workers. Channels (the Matrix appservice) and later parts plug in
 * through `MosaicPlugin`, so src/ never imports them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { MosaicConfig } from './config/schema.ts';
import { openDatabase, type Database } from './db/client.ts';
import { runMigrations } from './db/migrate.ts';
import type { Logger } from './logging.ts';
import { AccountService } from './identity/account-service.ts';
import { createHttpApp } from './http/app.ts';
import type { RouteGroup } from './http/route-spec.ts';
import { createMetrics, startMetricsListener, type Metrics } from './http/metrics.ts';
import { knownModels } from './http/metric-labels.ts';
import { answerClientErrors } from './http/edge.ts';
import { Readiness } from './http/readiness.ts';
import { DependencyGate } from './http/dependency-gate.ts';
import { adminUsersRoutes, meRoutes, tokensRoutes } from './http/account-routes.ts';
import { connectValkey, type Redis } from './valkey/client.ts';
import { CredentialStore } from './identity/credential-store.ts';
import { CredentialResolver } from './identity/credential-resolver.ts';
import { secretBoxFromConfig } from './identity/secret-box.ts';
import { credentialRoutes } from './http/credential-routes.ts';
import { buildServices, type Services, type ServiceDeps } from './services.ts';
import { providerRoutes } from './http/provider-routes.ts';
import { routingRoutes } from './http/routing-routes.ts';
import { agentRoutes, conversationRoutes, usageRoutes } from './http/conversation-routes.ts';
import { jobsRoutes } from './http/jobs-routes.ts';
import { retentionRoutes } from './http/retention-routes.ts';
import { memoryRoutes } from './http/memory-routes.ts';
import { teamRoutes } from './http/team-routes.ts';
import { packageVersion } from './version.ts';
import { listenHttp } from './http/listen.ts';
import { valkeyRateLimitStore } from './http/rate-limit-store.ts';
import { ClientRateLimit } from './http/client-rate-limit.ts';
import { installationId } from './db/installation.ts';
import { claimValkeyPrefix } from './valkey/prefix-owner.ts';
import { adminSocketPath, startAdminSocket } from './admin/admin-socket.ts';
import type { AdminContext } from './admin/operations.ts';
import type { DataDirOwner } from './db/data-dir-lock.ts';
import { createLinking, type Linking } from './identity/linking.ts';
import { signInRoutes } from './http/sign-in-routes.ts';
import { IDENTITY_CHANGED_JOB } from './identity/identity-events.ts';
import { linkRoutes } from './http/link-routes.ts';
import { linkPageRouter } from './http/link-page.ts';
import { createLiveServer } from './live/create-live-server.ts';
import { webSessionAuthenticator, webSessionCheck } from './live/live-auth.ts';
import { WebSessionStore } from './identity/web-session-store.ts';
import { webSessionAuth, type WebSessionAuth } from './http/web-session-auth.ts';
import { webSessionRoutes } from './http/web-session-routes.ts';
import type { LiveServer } from './live/live-server.ts';

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
  /** Linking chat accounts to Mosaic accounts; channels register in `linking.channels` and subscribe in `services.identityEvents`. */
  linking: Linking;
  /** The WebSocket, event streams and socket tickets. */
  live: LiveServer;
}

export interface MosaicPlugin {
  name: string;
  /** Called after the core services exist and before HTTP serves. Null: the plugin is off (nothing is logged for it). */
  start(core: MosaicCore): Promise<{ routes?: RouteGroup[]; stop(): Promise<void> } | null>;
  /**
   * What `mosaic start` would refuse for this plugin (its files, its ports),
   * checked without starting anything; `mosaic config check` runs it too.
   * Returns a line to show when the check passed, or null when the plugin is off.
   */
  check?(config: MosaicConfig): Promise<string | null>;
}

/** Startup steps, for the progress lines a terminal shows. */
export type StartProgress =
  | { step: 'database'; kind: Database['kind']; location: string }
  | { step: 'migrations'; applied: number; total: number }
  | { step: 'valkey'; prefix: string }
  | { step: 'waiting'; owner: DataDirOwner };

export interface RunningMosaic {
  core: MosaicCore;
  httpUrl: string;
  /** GET URL of the metrics listener, null when it is disabled. */
  metricsUrl: string | null;
  server: Server;
  /** The HTTP app serving `server` (tests walk its routes). */
  app: Express;
  stop(): Promise<void>;
}

export interface StartOptions {
  config: MosaicConfig;
  logger: Logger;
  plugins?: MosaicPlugin[];
  /** Tests shorten the providers' retry waits. */
  providerPolicy?: ServiceDeps['providerPolicy'];
  /** The web client's build (index.html and assets/), served at / when given and `web.enabled`. */
  webClientDir?: string;
  onProgress?(progress: StartProgress): void;
}

/** Answers while the gateway is still starting (the port is taken first, so a busy port fails before anything else). */
function startingHandler(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' });
  res.end(JSON.stringify({ error: { code: 'starting', message: 'Mosaic is starting; try again in a moment' } }));
}

export async function startMosaic({ config, logger, plugins = [], providerPolicy, webClientDir, onProgress }: StartOptions): Promise<RunningMosaic> {
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
  };
  const progress = (p: StartProgress) => onProgress?.(p);
  try {
    // The port first: a busy port is one clear line before any database, worker or channel starts.
    const server = createServer(startingHandler);
    answerClientErrors(server);
    await listenHttp(server, { port: config.http.port, host: config.http.host, setting: 'PORT (http.port)' });
    let httpClosed: Promise<void> | null = null;
    const closeHttp = () =>
      (httpClosed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }));
    cleanups.push(closeHttp);
    // What `mosaic config check` checks too, before anything opens.
    const metrics = createMetrics({ knownModel: knownModels(config), logger });
    const metricsListener = config.metrics.enabled ? await startMetricsListener(metrics, config.metrics.host, config.metrics.port, logger) : null;
    if (metricsListener) cleanups.push(() => metricsListener.close());
    const secretBox = secretBoxFromConfig(config.secrets);
    for (const plugin of plugins) await plugin.check?.(config);

    const embedded = !config.database.url;
    const socketPath = embedded ? adminSocketPath(config.database.dataDir) : null;
    const database = await openDatabase({
      url: config.database.url,
      dataDir: config.database.dataDir,
      poolSize: config.database.poolSize,
      owner: { role: 'server', command: 'start', socket: socketPath, waitMs: 30_000, onWait: (owner) => progress({ step: 'waiting', owner }) },
    });
    cleanups.push(() => database.close());
    progress({ step: 'database', kind: database.kind, location: database.location });
    const migrated = await runMigrations(database);
    progress({ step: 'migrations', applied: migrated.applied, total: migrated.total });
    logger.info({ event: 'db.ready', kind: database.kind, location: database.location, applied: migrated.applied }, 'database ready');

    const valkey = await connectValkey(config.valkey.url);
    cleanups.push(async () => {
      await valkey.quit().catch(() => valkey.disconnect());
    });
    await claimValkeyPrefix(valkey, config.valkey.keyPrefix, config.valkey.url, { installationId: await installationId(database.db), database: database.location });
    progress({ step: 'valkey', prefix: config.valkey.keyPrefix });

    // While either is out, /api answers 503 with Retry-After at once rather than hanging or answering 500.
    const dependencies = new DependencyGate(
      [
        { name: 'database', ping: () => database.ping() },
        { name: 'valkey', ping: () => valkey.ping(), knownDown: () => valkey.status !== 'ready' },
      ],
      logger,
    );
    cleanups.push(async () => dependencies.stop());
    const readiness = new Readiness();
    readiness.add({ name: 'database', required: true, check: async () => (await database.ping(), { ok: true, detail: database.kind }) });
    readiness.add({ name: 'valkey', required: true, check: async () => ({ ok: (await valkey.ping()) === 'PONG' }) });

    const credentials = new CredentialStore(database.db, secretBox);
    // A default start has no key: that is a choice, not a fault (a user storing a key is told why not).
    if (!config.secrets.key) logger.info({ event: 'secrets.missing' }, 'MOSAIC_SECRET_KEY is not set: users cannot store their own provider keys');
    const credentialResolver = new CredentialResolver(credentials);
    const services = buildServices({ config, logger, database, valkey, credentials, credentialResolver, metrics: metrics.port, ...(providerPolicy ? { providerPolicy } : {}) });
    cleanups.push(() => services.stop());
    metrics.sources.queues = () => services.jobs.depths();
    await services.start();
    readiness.add({
      name: 'providers',
      required: false,
      check: async () => {
        const records = await services.health.all();
        // The same records /api/providers/health answers with: the two never disagree.
        const usable = records.filter((r) => r.usable).map((r) => r.provider);
        return { ok: usable.length > 0, detail: { usable, statuses: Object.fromEntries(records.map((r) => [r.provider, r.status])) } };
      },
    });
    const accounts = new AccountService(database.db);
    const linking = createLinking({
      config,
      db: database.db,
      valkey,
      accounts,
      logger,
      publish: async (change) => void (await services.jobs.service.enqueue(IDENTITY_CHANGED_JOB.name, change)),
    });
    const live = createLiveServer({ config, logger, valkey, bus: services.bus, conversations: services.conversations, accounts });
    const web = webSessions({ config, valkey, accounts });
    if (web) live.auth.add(webSessionAuthenticator(web.store, web.origins), webSessionCheck(web.store));
    await live.start();
    metrics.sources.live = () => ({ connections: live.stats(), framesSent: live.frames.totals() });
    // Also stopped (first) once the server listens; this one covers a start that fails before.
    cleanups.push(() => live.stop());
    const core: MosaicCore = {
      config,
      logger,
      database,
      valkey,
      accounts,
      credentials,
      credentialResolver,
      readiness,
      metrics,
      services,
      linking,
      live,
    };
    const conversations = services.conversations;
    const rateLimitStore = valkeyRateLimitStore(valkey, config.valkey.keyPrefix);
    const signInLimit = new ClientRateLimit(valkeyRateLimitStore(valkey, config.valkey.keyPrefix, 'sign-in'), config.web.signInsPerMinute, 'password sign-ins');
    const routes: RouteGroup[] = [
      ...live.routes(),
      meRoutes(core.accounts),
      tokensRoutes(core.accounts),
      adminUsersRoutes(core.accounts, linking.links),
      ...linkRoutes(linking.links),
      signInRoutes(linking.signIn, core.accounts, signInLimit),
      ...(web ? [webSessionRoutes({ signIn: linking.signIn, sessions: web, limit: signInLimit, identifyToken: (token) => accounts.tokens.identify(token) })] : []),
      credentialRoutes(core.credentials, config.providers.userBaseUrls),
      providerRoutes({ registry: services.providers, health: services.health, directory: services.models, hasUserCredential: (actor, p) => credentials.has(actor, p) }),
      routingRoutes({ routing: services.routing, conversationState: (actor, id) => conversations.api.routingState(actor, id) }),
      conversationRoutes(conversations, { retention: services.retention.policies }),
      retentionRoutes(services.retention.policies),
      memoryRoutes(services.memory),
      agentRoutes(conversations),
      usageRoutes(conversations),
      ...teamRoutes(services.teams),
      jobsRoutes(services.jobs.admin),
    ];
    for (const plugin of plugins) {
      const started = await plugin.start(core);
      if (!started) continue;
      cleanups.push(() => started.stop());
      routes.push(...(started.routes ?? []));
      logger.info({ event: 'plugin.started', plugin: plugin.name }, `${plugin.name} started`);
    }
    // Identity change jobs waited for the channels to subscribe.
    services.identityEvents.channelsStarted();
    services.teamEvents.channelsStarted();

    const app = createHttpApp({
      logger,
      authenticate: (token) => core.accounts.tokens.authenticate(token),
      ...(web ? { requestAuthenticators: [web.authenticate] } : {}),
      ...(web && webClientDir ? { staticDir: webClientDir } : {}),
      readiness,
      metrics: core.metrics,
      bodyLimit: config.http.bodyLimit,
      rateLimitPerMinute: config.http.rateLimitPerMinute,
      rateLimitStore,
      routes,
      version: packageVersion(),
      pages: [{ path: '/link', router: linkPageRouter(linking.browser) }],
      dependencies,
    });
    // From now on the app answers (and is the server's one request listener, for whoever inspects it).
    server.off('request', startingHandler);
    server.on('request', app);
    if (socketPath) {
      const adminContext: AdminContext = {
        config,
        via: 'server',
        database: async () => database,
        accounts: async () => core.accounts,
        credentials: async () => credentials,
        jobs: async () => services.jobs.admin,
        routing: async () => services.routing,
        linking: async () => linking,
        teams: async () => services.teams,
      };
      const socket = await startAdminSocket({ path: socketPath, context: adminContext, logger });
      // Closed before the database, so no admin operation reaches a closed database.
      cleanups.push(() => socket.close());
    }
    // At stop, HTTP closes first: no request reaches a stopping service.
    cleanups.push(closeHttp);
    live.attach(server, { store: rateLimitStore, perMinute: config.http.rateLimitPerMinute });
    // Before that, sockets get 1012 and a reconnect hint rather than a dropped connection.
    cleanups.push(() => live.stop());
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const httpUrl = `http://${host}:${address.port}`;
    let stopped: Promise<void> | null = null;
    return {
      core,
      httpUrl,
      metricsUrl: metricsListener?.url ?? null,
      server,
      app,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The web client's sessions, when the web client is on (`web.enabled`). */
function webSessions(d: { config: MosaicConfig; valkey: Redis; accounts: AccountService }): WebSessionAuth | null {
  if (!d.config.web.enabled) return null;
  const store = new WebSessionStore(d.valkey, d.config.valkey.keyPrefix, d.accounts.users, d.accounts.tokens, d.config.web.sessionHours * 3600);
  // Behind a proxy that rewrites Host, the public URL is where the page comes from.
  const extraOrigins = d.config.http.publicUrl ? [new URL(d.config.http.publicUrl).origin] : [];
  return webSessionAuth(store, { extraOrigins });
}
