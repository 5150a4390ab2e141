/**
 * `mosaic start` and `mosaic migrate`. In a terminal, start shows what it is
 * doing (database, migrations, Valkey, listening) and logs readable lines;
 * otherwise it logs JSON. With no admin yet, it says how to create one.
 */
import type { LoadedConfig } from '../config/load.ts';
import { createLogger, terminalDestination } from '../logging.ts';
import { startMosaic, type MosaicPlugin, type StartProgress } from '../main.ts';
import { openDatabase } from '../db/client.ts';
import { describeOwner, readDataDirOwner } from '../db/data-dir-lock.ts';
import { runMigrations } from '../db/migrate.ts';
import { MosaicError } from '../errors.ts';
import { packageVersion } from '../version.ts';

export const FIRST_ADMIN_HINT = 'no admin yet: create one with `npx mosaic user create admin --admin` in another terminal (it works while Mosaic runs) and keep the token it prints';

function describeProgress(p: StartProgress): string | null {
  switch (p.step) {
    case 'waiting':
      return `  waiting for ${describeOwner(p.owner)} to finish with the embedded database…`;
    case 'database':
      return `  database: ${p.kind} ${p.location}`;
    case 'migrations':
      return `  migrations: ${p.applied ? `${p.applied} applied` : 'up to date'} (${p.total} in the database)`;
    case 'valkey':
      return `  valkey: connected (key prefix "${p.prefix}")`;
    default:
      return null;
  }
}

export async function runStart(loaded: LoadedConfig, plugins: MosaicPlugin[], webClientDir?: string): Promise<void> {
  const { config, source } = loaded;
  const terminal = process.stdout.isTTY === true;
  const logger = createLogger(config.log.level, terminal ? await terminalDestination() : undefined);
  const progress = (line: string | null) => {
    if (terminal && line) console.log(line);
  };
  progress(`Starting Mosaic ${packageVersion()} (${source ? `config ${source}` : 'no config file: defaults and environment'})`);
  const running = await startMosaic({ config, logger, plugins, ...(webClientDir ? { webClientDir } : {}), onProgress: (p) => progress(describeProgress(p)) });
  logger.info({ event: 'started', config: source ?? '(defaults and environment)' }, `Mosaic listening on ${running.httpUrl}`);
  const noAdmin = (await running.core.accounts.users.enabledAdminCount()) === 0;
  // One write: whoever reads "listening" reads the hint with it.
  console.log([`Mosaic listening on ${running.httpUrl} (database: ${running.core.database.kind} ${running.core.database.location})${running.metricsUrl ? `; metrics on ${running.metricsUrl}` : ''}`, ...(noAdmin ? [FIRST_ADMIN_HINT] : [])].join('\n'));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'stopping', signal }, 'shutting down');
    await running.stop();
    logger.info({ event: 'stopped' }, 'stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

export async function runMigrate(loaded: LoadedConfig): Promise<void> {
  const { config } = loaded;
  if (!config.database.url) {
    const owner = readDataDirOwner(config.database.dataDir);
    if (owner?.role === 'server') {
      throw new MosaicError(
        'server_running',
        `${describeOwner(owner)} owns the embedded database in ${config.database.dataDir} and applied the migrations when it started; stop it before running \`mosaic migrate\``,
        { httpStatus: 409 },
      );
    }
  }
  const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: 2, owner: { role: 'command', command: 'migrate', waitMs: 30_000 } });
  try {
    const result = await runMigrations(database);
    console.log(`migrations: ${result.applied} applied, ${result.total} in the database (${database.kind} ${database.location})`);
  } finally {
    await database.close();
  }
}
