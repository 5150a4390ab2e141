/**
 * `mosaic config check [FILE]`: every check `mosaic start` makes, without
 * starting — the configuration, the secret key, each channel's own checks
 * (registration file, ports), the HTTP and metrics ports, the database (reachable, schema
 * not newer, migrations pending) and Valkey (reachable, eviction policy, key
 * prefix not another installation's). Nothing is changed: a database folder
 * that does not exist yet is not created, migrations are not applied, the
 * prefix is not claimed. One line per check; exit code 1 when one fails.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import type { MosaicPlugin } from '../main.ts';
import { errorMessage } from '../errors.ts';
import { createLogger } from '../logging.ts';
import { secretBoxFromConfig } from '../identity/secret-box.ts';
import { portAvailable } from '../http/listen.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { describeOwner, readDataDirOwner } from '../db/data-dir-lock.ts';
import { migrationStatus } from '../db/migrate.ts';
import { installationId } from '../db/installation.ts';
import { connectValkey } from '../valkey/client.ts';
import { checkValkeyPrefix } from '../valkey/prefix-owner.ts';
import { checkEvictionPolicy } from '../jobs/valkey-policy.ts';
import { callAdminSocket } from '../admin/socket-client.ts';

type Check = { name: string; run(): Promise<string | null> };

export async function runConfigCheck(loaded: LoadedConfig, plugins: MosaicPlugin[], print: (line: string) => void = (l) => console.log(l)): Promise<boolean> {
  const { config, source, origin } = loaded;
  const server = config.database.url ? null : readDataDirOwner(config.database.dataDir);
  const running = server?.role === 'server' ? server : null;
  let ownInstallation: string | null = null;
  let ownDatabase = '';

  const checks: Check[] = [
    { name: 'configuration', run: async () => `valid (${source ? `${source}, from ${origin ?? '--config'}` : 'no file; defaults and environment'})` },
    {
      name: 'secrets',
      run: async () => (secretBoxFromConfig(config.secrets) ? `MOSAIC_SECRET_KEY is set (key id "${config.secrets.keyId}")` : 'MOSAIC_SECRET_KEY is not set: users cannot store their own provider keys'),
    },
    ...plugins.map((p): Check => ({ name: p.name, run: async () => (p.check ? ((await p.check(config)) ?? 'off') : 'nothing to check') })),
    {
      name: 'http',
      run: async () => {
        if (running) return `port ${config.http.port} not checked: ${describeOwner(running)} runs on this data directory`;
        await portAvailable({ port: config.http.port, host: config.http.host, setting: 'PORT (http.port)' });
        return `${config.http.host}:${config.http.port} is free`;
      },
    },
    {
      name: 'metrics',
      run: async () => {
        if (!config.metrics.enabled) return 'off';
        if (running) return `port ${config.metrics.port} not checked: ${describeOwner(running)} runs on this data directory`;
        await portAvailable({ port: config.metrics.port, host: config.metrics.host, setting: 'METRICS_PORT (metrics.port)' });
        return `${config.metrics.host}:${config.metrics.port} is free`;
      },
    },
    {
      name: 'database',
      run: async () => {
        if (running) {
          if (!running.socket) return `held by ${describeOwner(running)}`;
          const status = await callAdminSocket(running.socket, 'status', {});
          ownInstallation = status.database.installationId;
          ownDatabase = status.database.location;
          return `${status.database.kind} ${status.database.location}, held by ${describeOwner(running)} (asked through its admin socket)`;
        }
        if (!config.database.url && !existsSync(path.join(path.resolve(config.database.dataDir), 'pglite', 'PG_VERSION'))) {
          return `embedded PGlite; ${path.resolve(config.database.dataDir, 'pglite')} does not exist yet and is created at the first start`;
        }
        const database: Database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: 1, owner: { role: 'command', command: 'config check', waitMs: 30_000 } });
        try {
          const status = await migrationStatus(database);
          ownDatabase = database.location;
          ownInstallation = status.applied > 0 ? await installationId(database.db).catch(() => null) : null;
          return `${database.kind} ${database.location} reachable; ${status.applied} migration(s) applied, ${status.pending} to apply at start`;
        } finally {
          await database.close();
        }
      },
    },
    {
      name: 'valkey',
      run: async () => {
        const valkey = await connectValkey(config.valkey.url);
        try {
          const policy = await checkEvictionPolicy(valkey, createLogger('silent'));
          if (ownInstallation) await checkValkeyPrefix(valkey, config.valkey.keyPrefix, config.valkey.url, { installationId: ownInstallation, database: ownDatabase });
          return `reachable; key prefix "${config.valkey.keyPrefix}"${ownInstallation ? ' is free or this installation\'s' : ''}${policy.ok ? '' : `; warning: ${policy.reason}`}`;
        } finally {
          valkey.disconnect();
        }
      },
    },
  ];

  let ok = true;
  for (const check of checks) {
    try {
      print(`✓ ${check.name}: ${await check.run()}`);
    } catch (err) {
      ok = false;
      print(`✗ ${check.name}: ${errorMessage(err)}`);
    }
  }
  print(ok ? 'configuration is valid: `mosaic start` would pass these checks' : 'configuration check failed: fix the lines marked ✗');
  return ok;
}
