/**
 * The whole gateway for end-to-end tests: real PostgreSQL (a fresh
 * database; or the embedded PGlite in a fresh folder), real Redis (a fresh prefix), every provider pointed at its
 * simulator, migrations with the default rules and system agents, reply
 * workers running, HTTP on a random port. `restart()` stops the process
 * state and starts again on the same database, Redis and simulators.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { MosaicConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/logging.ts';
import { startMosaic, type MosaicCore, type MosaicPlugin, type RunningMosaic } from '../../src/main.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import type { ConversationServices } from '../../src/conversations/conversation-services.ts';
import { PROVIDER_NAMES, type ProviderName } from '../../src/providers/types.ts';
import { simulatorProviderConfig, startSimulator, type AnySimulator } from '../simulators/index.ts';
import { createEmptyPgDatabase, redisPrefix } from './databases.ts';

export interface TestMosaicOptions {
  plugins?: () => MosaicPlugin[];
  /** Raw config merged over the harness's (same shape as config.yaml). */
  config?: Record<string, unknown>;
  /** Providers to run (default: all five). Others are disabled. */
  providers?: ProviderName[];
  /** 'pglite': the embedded default database, in a fresh folder, instead of PostgreSQL. */
  database?: 'postgres' | 'pglite';
  /**
   * Start a second replica of a running gateway: same database, Valkey prefix
   * and simulators. `config` then only sets what each process has of its
   * own (the appservice's listening port).
   */
  replicaOf?: TestMosaic;
  /** Where the gateway's log lines go (default: standard output at the configured level). */
  logDestination?: NodeJS.WritableStream;
  /** Serve the web client's build (clients/web/dist, made by the test run's global setup) at /. */
  webClient?: boolean;
}

/** The web client's build, as `npm run build` leaves it. */
export const WEB_CLIENT_DIR = path.resolve('clients/web/dist');

export interface TestMosaic {
  running: RunningMosaic;
  core: MosaicCore;
  service: ConversationServices;
  simulators: Record<ProviderName, AnySimulator>;
  config: MosaicConfig;
  url: string;
  adminToken: string;
  createUser(name: string, options?: { admin?: boolean }): Promise<{ token: string; actor: Actor }>;
  /** Authenticated JSON request against the running API. */
  api<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = b && typeof b === 'object' && !Array.isArray(b) && v && typeof v === 'object' && !Array.isArray(v) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export async function startTestMosaic(options: TestMosaicOptions = {}): Promise<TestMosaic> {
  let simulators: Record<ProviderName, AnySimulator>;
  let config: MosaicConfig;
  if (options.replicaOf) {
    simulators = options.replicaOf.simulators;
    config = options.config ? parseConfig(merge(options.replicaOf.config as unknown as Record<string, unknown>, options.config)) : options.replicaOf.config;
  } else {
    const wanted = options.providers ?? [...PROVIDER_NAMES];
    simulators = {} as Record<ProviderName, AnySimulator>;
    for (const p of wanted) simulators[p] = await startSimulator(p);
    const providers: Record<string, unknown> = simulatorProviderConfig(simulators);
    for (const p of PROVIDER_NAMES) if (!wanted.includes(p)) providers[p] = { enabled: false };
    const database = options.database === 'pglite' ? { dataDir: mkdtempSync(path.join(tmpdir(), 'mosaic-pglite-')) } : { url: await createEmptyPgDatabase(), poolSize: 5 };
    const raw = merge(
      {
        http: { port: 0, host: '127.0.0.1', rateLimitPerMinute: 100_000 },
        metrics: { port: 0 },
        database,
        valkey: { keyPrefix: redisPrefix('e2e') },
        log: { level: (process.env.TEST_LOG_LEVEL as string | undefined) ?? 'silent' },
        secrets: { key: 'test-secret-key-0123456789-abcdefghijklmnop' },
        providers: { ...providers, maxRetries: 0, streamIdleTimeoutMs: 5000, requestTimeoutMs: 20_000 },
        jobs: { shutdownTimeoutMs: 2000, lockDurationMs: 5000, stalledIntervalMs: 2000 },
      },
      options.config ?? {},
    );
    config = parseConfig(raw);
  }
  const logger = createLogger(config.log.level, options.logDestination);

  const boot = () => startMosaic({ config, logger, plugins: options.plugins?.() ?? [], ...(options.webClient ? { webClientDir: WEB_CLIENT_DIR } : {}) });
  let running = await boot();
  const adminToken = options.replicaOf ? options.replicaOf.adminToken : (await running.core.accounts.createUser({ username: 'admin', admin: true })).token;

  const harness: TestMosaic = {
    get running() {
      return running;
    },
    get core() {
      return running.core;
    },
    get service() {
      return running.core.services.conversations;
    },
    get url() {
      return running.httpUrl;
    },
    simulators,
    config,
    adminToken,
    async createUser(name, opts = {}) {
      const { token } = await running.core.accounts.createUser({ username: name, admin: opts.admin ?? false });
      const row = await running.core.accounts.users.findByUsername(name);
      return { token, actor: actorOf(row!) };
    },
    async api<T>(token: string, method: string, path: string, body?: unknown) {
      const res = await fetch(`${running.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
    },
    async restart() {
      await running.stop();
      running = await boot();
    },
    async stop() {
      await running.stop();
      // A replica's simulators belong to the gateway it replicates.
      if (!options.replicaOf) await Promise.all(Object.values(simulators).map((s) => s.close()));
    },
  };
  return harness;
}
