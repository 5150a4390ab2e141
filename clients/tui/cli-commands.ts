/**
 * The terminal client's subcommands of `mosaic` (wired in bin/mosaic.js,
 * since the core CLI must not import clients): login, logout, chat, tui.
 * Thin: each parses its options and hands over to its module, loaded only
 * when it runs. Errors end the process with their exit code (errors.ts).
 */
import type { Command } from 'commander';
import { ClientError, EXIT, describe } from './errors.ts';

async function run(action: () => Promise<number | void>): Promise<void> {
  try {
    const code = await action();
    process.exitCode = code ?? EXIT.ok;
  } catch (err) {
    const e = err instanceof ClientError ? err : new ClientError(describe(err));
    process.stderr.write(`mosaic: ${e.message}\n`);
    if (process.env.LOG_LEVEL === 'debug') console.error(err);
    process.exitCode = e.exitCode;
  }
}

export function registerClientCommands(program: Command): void {
  program
    .command('login')
    .description('sign the terminal client in: asks for a username and password (or takes --token / MOSAIC_TOKEN) and keeps the token in $XDG_CONFIG_HOME/mosaic (mode 0600)')
    .option('-s, --server <url>', 'the Mosaic server (env MOSAIC_SERVER), e.g. http://127.0.0.1:3000')
    .option('-t, --token <token>', 'a personal access token instead of a password (env MOSAIC_TOKEN)')
    .option('-u, --username <name>', 'the username (asked for otherwise)')
    .option('--password-stdin', 'read the password from standard input')
    .action((opts: { server?: string; token?: string; username?: string; passwordStdin?: boolean }) =>
      run(async () => {
        const { runLogin } = await import('./login.ts');
        await runLogin(opts, (line) => console.log(line));
      }),
    );

  program
    .command('logout')
    .description('forget the stored token (and revoke it when `mosaic login` made it)')
    .action(() =>
      run(async () => {
        const { runLogout } = await import('./login.ts');
        await runLogout((line) => console.log(line));
      }),
    );

  program
    .command('chat [message...]')
    .description('send one message (the arguments, or standard input) and print the answer as it streams; the routing line goes to standard error. Exit codes: 0 answered, 1 error, 2 usage, 3 not signed in, 4 server unreachable, 5 not answered, 6 stopped, 7 timed out')
    .option('-s, --server <url>', 'the Mosaic server (env MOSAIC_SERVER; default: the one `mosaic login` stored)')
    .option('--conversation <id>', 'continue this conversation (default: a new one; its id is printed on standard error)')
    .option('-C, --continue', 'continue the last conversation `mosaic chat` or `mosaic tui` used')
    .option('--timeout <seconds>', 'give up waiting for the answer after this long', '300')
    .action((words: string[], opts: { server?: string; conversation?: string; continue?: boolean; timeout: string }) =>
      run(async () => {
        const [{ resolveConnection, lastConversation, rememberConversation }, { runPlainChat }] = await Promise.all([import('./config.ts'), import('./chat-plain.ts')]);
        let message = words.join(' ');
        if (!message && !process.stdin.isTTY) {
          for await (const chunk of process.stdin) message += String(chunk);
          message = message.replace(/\r?\n$/, '');
        }
        if (!message.trim()) throw new ClientError('nothing to send: `mosaic chat "your message"`, or pipe it in', EXIT.usage, 'usage');
        const timeout = Number(opts.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0) throw new ClientError(`--timeout ${opts.timeout}: expected a number of seconds`, EXIT.usage, 'usage');
        const { server, token } = resolveConnection(opts);
        const conversationId = opts.conversation ?? (opts.continue ? (lastConversation(server) ?? undefined) : undefined);
        if (opts.continue && !conversationId) throw new ClientError('no last conversation to continue yet: leave out --continue to start one', EXIT.usage, 'usage');
        return runPlainChat({
          server,
          token,
          message,
          timeoutMs: timeout * 1000,
          out: process.stdout,
          err: process.stderr,
          remember: (id) => rememberConversation(server, id),
          ...(conversationId ? { conversationId } : {}),
        });
      }),
    );

  program
    .command('tui')
    .description('the full-screen terminal client: chat with streamed answers, switch models and agents, see why each answer was routed; reopens the last conversation')
    .option('-s, --server <url>', 'the Mosaic server (env MOSAIC_SERVER; default: the one `mosaic login` stored)')
    .option('--conversation <id>', 'open this conversation')
    .option('--new', 'start a new conversation')
    .action((opts: { server?: string; conversation?: string; new?: boolean }) =>
      run(async () => {
        if (!process.stdin.isTTY || !process.stdout.isTTY) throw new ClientError('`mosaic tui` needs a terminal; for scripts and pipes use `mosaic chat`', EXIT.usage, 'usage');
        const { resolveConnection } = await import('./config.ts');
        const { server, token } = resolveConnection(opts);
        const { runTui } = await import('./screen/app.ts');
        return runTui({ server, token, ...(opts.conversation ? { conversationId: opts.conversation } : {}), ...(opts.new ? { newConversation: true } : {}) });
      }),
    );
}
