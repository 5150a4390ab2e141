/**
 * What the Matrix channel adds to the `mosaic` command (bin/mosaic.js loads
 * this file): the appservice plugin, `mosaic registration`,
 * `mosaic conduit register`, and Matrix as a channel `mosaic link` and
 * `mosaic user link` can link. Loaded for every command, so everything
 * heavy is imported only by the action that needs it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { CliExtensions, CliHelpers } from '../src/cli.ts';
import { UsageError } from '../src/cli/usage.ts';

/** CLI output: the one place this channel writes to the terminal. */
const say = (line: string) => void process.stdout.write(`${line}\n`);

function registrationCommand(program: Command, helpers: CliHelpers): void {
  program
    .command('registration')
    .description('write the Matrix appservice registration (random tokens) for the homeserver')
    .option('-o, --output <file>', 'write to this file (default: standard output)')
    .option('--if-missing', 'keep an existing file untouched (its tokens stay valid)')
    .option('--force', 'replace an existing file: new tokens, so the homeserver must be given the new file')
    .action(async (opts: { output?: string; ifMissing?: boolean; force?: boolean }) => {
      const { config } = await helpers.config();
      const { generateRegistration, loadRegistration, renderRegistration } = await import('./transport/registration.ts');
      if (opts.output && existsSync(opts.output)) {
        if (opts.ifMissing) {
          loadRegistration(opts.output); // a broken file must not pass silently
          say(`${opts.output} exists; left as it is`);
          return;
        }
        if (!opts.force) {
          throw new UsageError(
            `${opts.output} exists and the homeserver may already know its tokens: replacing them breaks the registered appservice. Keep it (--if-missing), or replace it with --force and register the new file with the homeserver`,
          );
        }
      }
      const text = renderRegistration(generateRegistration(config));
      if (!opts.output) {
        process.stdout.write(text);
        return;
      }
      mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
      writeFileSync(opts.output, text, { mode: 0o600 });
      say(`wrote ${opts.output}; register it with the homeserver (Conduit: \`mosaic conduit register\`) and set MATRIX_REGISTRATION_FILE to it`);
    });
}

function conduitCommand(program: Command, helpers: CliHelpers): void {
  program
    .command('conduit')
    .description('Conduit homeserver tools')
    .command('register')
    .description("register the appservice through Conduit's admin room (needs CONDUIT_ADMIN_USER / CONDUIT_ADMIN_PASSWORD)")
    .option('-f, --file <file>', 'registration file (default: matrix.registrationFile)')
    .option('--wait <seconds>', 'first wait up to this long for the homeserver to answer (a stack starting up)', '0')
    .action(async (opts: { file?: string; wait: string }) => {
      const { config } = await helpers.config();
      const { loadRegistration } = await import('./transport/registration.ts');
      const { registerWithConduit, waitForHomeserver } = await import('./transport/conduit-register.ts');
      const file = opts.file ?? config.matrix.registrationFile;
      loadRegistration(file);
      const waitSeconds = Number(opts.wait);
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait must be a number of seconds, got "${opts.wait}"`);
      if (waitSeconds > 0) {
        await waitForHomeserver(config.matrix.homeserverUrl, waitSeconds * 1000, (reason) => say(`waiting for the homeserver at ${config.matrix.homeserverUrl} (${reason})…`));
      }
      const result = await registerWithConduit({
        homeserverUrl: config.matrix.homeserverUrl,
        serverName: config.matrix.serverName,
        adminUser: process.env.CONDUIT_ADMIN_USER ?? 'admin',
        adminPassword: process.env.CONDUIT_ADMIN_PASSWORD ?? '',
        registrationYaml: readFileSync(file, 'utf8'),
      });
      say(`posted register-appservice to ${result.roomId}`);
      say(result.answer ? `Conduit answered: ${result.answer}` : 'Conduit has not answered yet; check the admin room (`list-appservices`)');
    });
}

export function cliExtensions(): CliExtensions {
  return {
    plugins: async () => [(await import('./matrix-plugin.ts')).matrixPlugin()],
    commands: [registrationCommand, conduitCommand],
    linkChannels: async (config) => [(await import('./identity/matrix-link-channel.ts')).matrixLinkChannel(config.matrix.serverName)],
  };
}
