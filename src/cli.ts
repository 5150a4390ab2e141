/**
 * The `mosaic` command. Building the command tree loads nothing heavy:
 * every action imports what it needs when it runs, so `mosaic --help` and
 * `--version` answer at once. Channels add subcommands through `commands`.
 */
import { Command, Option } from 'commander';
import type { LoadedConfig } from './config/load.ts';
import type { MosaicPlugin } from './main.ts';
import type { AdminArgs, AdminOperationName, AdminResult } from './admin/operations.ts';
import type { MosaicConfig } from './config/schema.ts';
import type { LinkChannel } from './identity/link-channels.ts';
import { isMosaicError, errorMessage } from './errors.ts';
import { registerJobCommands } from './jobs/cli-commands.ts';
import { registerRouteCommand } from './cli/route-command.ts';
import { registerRetentionCommands } from './cli/retention-commands.ts';
import { registerLinkCommand, registerUserCommands } from './cli/user-commands.ts';
import { registerTeamCommands } from './cli/team-commands.ts';
import { packageVersion } from './version.ts';
import { UsageError } from './cli/usage.ts';

export interface CliExtensions {
  /** The plugins `mosaic start` runs (loaded only by `start`). */
  plugins?: () => Promise<MosaicPlugin[]>;
  /** Adds subcommands (registration, tui …). Keep their imports lazy: they are built for every call. */
  commands?: Array<(program: Command, helpers: CliHelpers) => void>;
  /** Chat channels accounts can be linked to when the CLI runs an operation itself (`mosaic link`, `user link`, `--matrix`). */
  linkChannels?: (config: MosaicConfig) => Promise<LinkChannel[]>;
  /** The web client's build (clients/web/dist), served at / by `mosaic start` when given. */
  webClientDir?: string;
}

export interface CliHelpers {
  config(): Promise<LoadedConfig>;
  /**
   * Runs an admin operation: through the running server's admin socket when
   * a server owns the embedded database, in this process otherwise.
   */
  admin<K extends AdminOperationName>(op: K, args: AdminArgs<K>): Promise<AdminResult<K>>;
}

export function buildCli(ext: CliExtensions = {}): Command {
  const program = new Command('mosaic')
    .description('Mosaic: a Matrix-native AI agent gateway')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(new Option('-c, --config <file>', 'configuration file (env MOSAIC_CONFIG; default ./config.yaml if present)'))
    .showHelpAfterError();

  const loadConfig = async (file?: string, origin?: string): Promise<LoadedConfig> => {
    const { loadConfig: load } = await import('./config/load.ts');
    const explicit = file ?? (program.opts().config as string | undefined);
    return load({ file: explicit, ...(explicit ? { fileOrigin: origin ?? '--config' } : {}) });
  };
  const helpers: CliHelpers = {
    config: () => loadConfig(),
    async admin(op, args) {
      const { runAdmin } = await import('./cli/admin-client.ts');
      const loaded = await loadConfig();
      return runAdmin(loaded, op, args, { linkChannels: () => ext.linkChannels?.(loaded.config) ?? Promise.resolve([]) });
    },
  };

  program
    .command('start')
    .description('start the gateway (HTTP API, channels, workers)')
    .action(async () => {
      const { runStart } = await import('./cli/start-command.ts');
      await runStart(await loadConfig(), ext.plugins ? await ext.plugins() : [], ext.webClientDir);
    });

  program
    .command('migrate')
    .description('apply database migrations and exit (refused while a server runs on the embedded database)')
    .action(async () => {
      const { runMigrate } = await import('./cli/start-command.ts');
      await runMigrate(await loadConfig());
    });

  const configCmd = program.command('config').description('configuration tools');
  configCmd
    .command('sample')
    .description('print a sample configuration with every key, its default and its description')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (opts: { output?: string }) => {
      const { renderSampleConfig } = await import('./config/sample.ts');
      const text = renderSampleConfig();
      if (opts.output) (await import('node:fs')).writeFileSync(opts.output, text);
      else process.stdout.write(text);
    });
  configCmd
    .command('check [file]')
    .description('run every check `mosaic start` runs (configuration, secrets, ports, database, Valkey, channels) without starting')
    .action(async (file: string | undefined) => {
      const { runConfigCheck } = await import('./cli/config-check.ts');
      const loaded = await loadConfig(file, file ? 'the command line' : undefined);
      const ok = await runConfigCheck(loaded, ext.plugins ? await ext.plugins() : []);
      if (!ok) process.exitCode = 1;
    });

  registerUserCommands(program, helpers);
  registerLinkCommand(program, helpers);
  registerTeamCommands(program, helpers);
  registerRouteCommand(program, helpers);
  registerJobCommands(program, helpers);
  registerRetentionCommands(program, helpers);

  program
    .command('secrets')
    .description('stored credential encryption')
    .command('rotate')
    .description('re-encrypt every stored credential under the current MOSAIC_SECRET_KEY (old keys in MOSAIC_SECRET_KEYS_PREVIOUS)')
    .action(async () => {
      const result = await helpers.admin('secrets.rotate', {});
      console.log(`re-encrypted ${result.rotated} credential(s) under key "${result.keyId}"; the previous keys can now be removed`);
    });

  for (const add of ext.commands ?? []) add(program, helpers);
  return program;
}

export async function runCli(argv: string[], ext: CliExtensions = {}): Promise<void> {
  // `mosaic jobs list | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
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
