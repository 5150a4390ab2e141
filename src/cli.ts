/**
 * The `mosaic` command. Later parts add subcommands through `extend`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { loadConfig, type LoadedConfig } from './config/load.ts';
import { renderSampleConfig } from './config/sample.ts';
import { createLogger } from './logging.ts';
import { isMosaicError, errorMessage } from './errors.ts';
import { openDatabase, type Database } from './db/client.ts';
import { runMigrations } from './db/migrate.ts';
import { AccountService } from './identity/account-service.ts';
import { startMosaic, type MosaicPlugin } from './main.ts';
import { CredentialStore } from './identity/credential-store.ts';
import { registerJobCommands } from './jobs/cli-commands.ts';
import { registerRouteCommand } from './cli/route-command.ts';
import { SecretKeyError, secretBoxFromConfig } from './identity/secret-box.ts';

export interface CliExtensions {
  plugins?: MosaicPlugin[];
  /** Adds subcommands (registration, route, tui …). */
  commands?: Array<(program: Command, helpers: CliHelpers) => void>;
}

export interface CliHelpers {
  config(): LoadedConfig;
  withDatabase<T>(fn: (db: Database, loaded: LoadedConfig) => Promise<T>): Promise<T>;
}

class UsageError extends Error {}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    throw new UsageError('--password-stdin: nothing could be read from standard input');
  }
}

export function buildCli(ext: CliExtensions = {}): Command {
  const program = new Command('mosaic')
    .description('Mosaic: a Matrix-native AI agent gateway')
    .addOption(new Option('-c, --config <file>', 'configuration file (env MOSAIC_CONFIG; default ./config.yaml if present)'))
    .showHelpAfterError();

  const helpers: CliHelpers = {
    config: () => loadConfig({ file: program.opts().config }),
    async withDatabase(fn) {
      const loaded = helpers.config();
      const database = await openDatabase({ url: loaded.config.database.url, dataDir: loaded.config.database.dataDir, poolSize: 2 });
      try {
        await runMigrations(database);
        return await fn(database, loaded);
      } finally {
        await database.close();
      }
    },
  };

  program
    .command('start')
    .description('start the gateway (HTTP API, channels, workers)')
    .action(async () => {
      const { config, source } = helpers.config();
      const logger = createLogger(config.log.level);
      const running = await startMosaic({ config, logger, plugins: ext.plugins ?? [] });
      logger.info({ event: 'started', config: source ?? '(defaults and environment)' }, `Mosaic listening on ${running.httpUrl}`);
      console.log(`Mosaic listening on ${running.httpUrl} (database: ${running.core.database.kind} ${running.core.database.location})${running.metricsUrl ? `; metrics on ${running.metricsUrl}` : ''}`);
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
    });

  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => {
      const { config } = helpers.config();
      const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: 2 });
      try {
        const result = await runMigrations(database);
        console.log(`migrations: ${result.applied} applied, ${result.total} in the database (${database.kind} ${database.location})`);
      } finally {
        await database.close();
      }
    });

  const configCmd = program.command('config').description('configuration tools');
  configCmd
    .command('sample')
    .description('print a sample configuration with every key, its default and its description')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action((opts: { output?: string }) => {
      const text = renderSampleConfig();
      if (opts.output) writeFileSync(opts.output, text);
      else process.stdout.write(text);
    });
  configCmd
    .command('check [file]')
    .description('validate a configuration file (and the environment) without starting')
    .action((file: string | undefined) => {
      const { source } = loadConfig({ file: file ?? program.opts().config });
      console.log(`configuration is valid${source ? ` (${source})` : ' (no file; defaults and environment)'}`);
    });

  const user = program.command('user').description('manage accounts');
  user
    .command('create <name>')
    .description('create an account; prints its first token alone on the last line')
    .option('--admin', 'give the account the admin role')
    .option('--password-stdin', 'read a password for the account from standard input')
    .action(async (name: string, opts: { admin?: boolean; passwordStdin?: boolean }) => {
      const password = opts.passwordStdin ? readStdin().replace(/\r?\n$/, '') : null;
      await helpers.withDatabase(async (database) => {
        const { user: created, token } = await new AccountService(database.db).createUser({ username: name, admin: opts.admin ?? false, password });
        console.log(`created ${created.role} ${created.username} (${created.id}); its token is shown once:`);
        console.log(token);
      });
    });
  user
    .command('list')
    .description('list accounts')
    .action(async () => {
      await helpers.withDatabase(async (database) => {
        const users = await new AccountService(database.db).listUsers();
        if (users.length === 0) console.log('no users yet: create one with `mosaic user create <name> --admin`');
        for (const u of users) console.log(`${u.username}\t${u.role}\t${u.id}\t${u.createdAt.toISOString()}`);
      });
    });
  user
    .command('token <name>')
    .description('issue another token for an account; prints it alone on the last line')
    .option('--label <label>', 'a name for the token', 'cli')
    .action(async (name: string, opts: { label: string }) => {
      await helpers.withDatabase(async (database) => {
        const token = await new AccountService(database.db).issueToken(name, opts.label);
        console.log(`new token for ${name} (shown once):`);
        console.log(token);
      });
    });

  program
    .command('secrets')
    .description('stored credential encryption')
    .command('rotate')
    .description('re-encrypt every stored credential under the current MOSAIC_SECRET_KEY (old keys in MOSAIC_SECRET_KEYS_PREVIOUS)')
    .action(async () => {
      await helpers.withDatabase(async (database, loaded) => {
        const box = secretBoxFromConfig(loaded.config.secrets);
        if (!box) throw new SecretKeyError('MOSAIC_SECRET_KEY is not set: nothing to rotate to');
        const result = await new CredentialStore(database.db, box).rotateAll();
        console.log(`re-encrypted ${result.rotated} credential(s) under key "${result.keyId}"; the previous keys can now be removed`);
      });
    });

  registerJobCommands(program, helpers);
  registerRouteCommand(program, helpers);

  for (const add of ext.commands ?? []) add(program, helpers);
  return program;
}

export async function runCli(argv: string[], ext: CliExtensions = {}): Promise<void> {
  try {
    await buildCli(ext).parseAsync(argv);
  } catch (err) {
    // One line a person can act on; stack traces only at debug level.
    const message = isMosaicError(err) || err instanceof UsageError ? err.message : errorMessage(err);
    console.error(`mosaic: ${message}`);
    if (process.env.LOG_LEVEL === 'debug') console.error(err);
    process.exit(1);
  }
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) await runCli(process.argv);
