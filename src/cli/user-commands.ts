/** `mosaic user …` and `mosaic link`: accounts and their chat links, through the admin operations (the running server's, or this process's). */
import type { Command } from 'commander';
import type { CliHelpers } from '../cli.ts';
import { readStdin, UsageError } from './usage.ts';
import type { AdminResult } from '../admin/operations.ts';

type Print = (line: string) => void;

export function describeRemovals(r: AdminResult<'user.delete'>['removes']): string {
  return [
    `${r.conversations} conversation(s) with ${r.messages} message(s)`,
    `${r.agents} agent(s)`,
    `${r.memories} memorie(s)`,
    `${r.routingRules} routing rule(s)`,
    `${r.providerKeys} stored provider key(s)`,
    `${r.tokens} token(s)`,
    `${r.usageRecords} usage record(s)`,
    `${r.linkedIdentities} linked chat identit(ies)`,
  ].join(', ');
}

export function registerUserCommands(program: Command, helpers: CliHelpers, print: Print = (line) => console.log(line)): void {
  const user = program.command('user').description('manage accounts');
  user
    .command('create <name>')
    .description('create an account; prints its first token alone on the last line')
    .option('--admin', 'give the account the admin role')
    .option('--password-stdin', 'read a password for the account from standard input')
    .option('--matrix <id>', 'link this Matrix user id (such as @alice:example.org) at once; the bot welcomes them')
    .action(async (name: string, opts: { admin?: boolean; passwordStdin?: boolean; matrix?: string }) => {
      const password = opts.passwordStdin ? readStdin('--password-stdin').replace(/\r?\n$/, '') : null;
      const { user: created, token } = await helpers.admin('user.create', { username: name, admin: opts.admin ?? false, password, ...(opts.matrix !== undefined ? { matrixUserId: opts.matrix } : {}) });
      print(`created ${created.role} ${created.username} (${created.id})${opts.matrix !== undefined ? `, linked to ${opts.matrix}` : ''}; its token is shown once:`);
      print(token);
    });
  user
    .command('link <name> <matrix-id>')
    .description('link a Matrix user id (such as @alice:example.org) to an account; the bot welcomes them in a direct message')
    .action(async (name: string, matrixUserId: string) => {
      const result = await helpers.admin('user.link', { username: name, matrixUserId });
      print(result.linked ? `linked ${matrixUserId} to ${result.username}` : `${matrixUserId} was already linked to ${result.username}; nothing changed`);
    });
  user
    .command('unlink <name> <matrix-id>')
    .description("unlink a Matrix user id from an account: its next message is refused")
    .action(async (name: string, matrixUserId: string) => {
      await helpers.admin('user.unlink', { username: name, matrixUserId });
      print(`unlinked ${matrixUserId} from ${name}`);
    });
  user
    .command('list')
    .description('list accounts (name, role, id, created, and "disabled" for disabled ones)')
    .action(async () => {
      const { users } = await helpers.admin('user.list', {});
      if (users.length === 0) print('no users yet: create one with `mosaic user create <name> --admin`');
      for (const u of users) print(`${u.username}\t${u.role}\t${u.id}\t${u.createdAt}${u.disabledAt ? '\tdisabled' : ''}`);
    });
  user
    .command('token <name>')
    .description('issue another token for an account; prints it alone on the last line')
    .option('--label <label>', 'a name for the token', 'cli')
    .action(async (name: string, opts: { label: string }) => {
      const { token } = await helpers.admin('user.token', { username: name, label: opts.label });
      print(`new token for ${name} (shown once):`);
      print(token);
    });
  user
    .command('disable <name>')
    .description("disable an account: its tokens and logins are refused at once; nothing is deleted")
    .action(async (name: string) => {
      await helpers.admin('user.disable', { username: name });
      print(`disabled ${name}: its tokens and logins are refused until \`mosaic user enable ${name}\``);
    });
  user
    .command('enable <name>')
    .description('enable a disabled account again (its existing tokens work again)')
    .action(async (name: string) => {
      await helpers.admin('user.enable', { username: name });
      print(`enabled ${name}`);
    });
  user
    .command('delete <name>')
    .description('delete an account and everything it owns (shows what first; needs --yes)')
    .option('--yes', 'really delete')
    .action(async (name: string, opts: { yes?: boolean }) => {
      const result = await helpers.admin('user.delete', { username: name, confirm: opts.yes === true });
      if (!result.deleted) {
        print(`deleting ${name} removes the account and everything it owns: ${describeRemovals(result.removes)}. Matrix rooms stay on the homeserver, without their agent.`);
        throw new UsageError(`nothing deleted: run \`mosaic user delete ${name} --yes\` to delete it (or \`mosaic user disable ${name}\` to keep its data)`);
      }
      print(`deleted ${name} and ${describeRemovals(result.removes)}`);
    });
}

/** `mosaic link <name>`: a link token and the exact line to send, alone on the last line. */
export function registerLinkCommand(program: Command, helpers: CliHelpers, print: Print = (line) => console.log(line)): void {
  program
    .command('link <name>')
    .description('issue a link token for an account (15 minutes, single use); the last line printed is the line to send the bot')
    .option('--channel <name>', 'the chat channel', 'matrix')
    .action(async (name: string, opts: { channel: string }) => {
      const issued = await helpers.admin('link.token', { username: name, channel: opts.channel });
      print(`link token for ${issued.username}, valid until ${issued.expiresAt} (15 minutes, single use).`);
      print(`Send this line ${issued.where}:`);
      print(issued.line);
    });
}
