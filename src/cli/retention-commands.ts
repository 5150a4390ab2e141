/**
 * `mosaic retention …`: how long messages are kept, for operators without
 * HTTP access; the same operations as /api/admin/retention.
 */
import type { Command } from 'commander';
import type { CliHelpers } from '../cli.ts';
import { badRequest } from '../errors.ts';
import { BUILTIN_JOBS } from '../jobs/builtin-job-names.ts';
import { parseDaysWord } from '../retention/days-word.ts';
import { isRoomKind, ROOM_KINDS } from '../retention/room-kinds.ts';

type Print = (line: string) => void;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A conversation id as the person typed it, refused before anything runs when it cannot be one. */
function conversationId(id: string): string {
  if (!UUID.test(id)) throw badRequest(`"${id}" is not a conversation id: expected a UUID, as GET /api/conversations lists them`);
  return id;
}

const days = (d: number | null | undefined): string => (d === null || d === undefined ? 'forever' : `${d} days`);

export function registerRetentionCommands(program: Command, helpers: CliHelpers, print: Print = (line) => void process.stdout.write(`${line}\n`)): void {
  const retention = program.command('retention').description('how long messages are kept: per room kind and per conversation; run the purge now');

  retention
    .command('show')
    .description('the policies per room kind and the conversation overrides (or one conversation\'s policy)')
    .option('--conversation <id>', 'the policy that applies to this conversation')
    .option('--json', 'print JSON')
    .action(async (opts: { conversation?: string; json?: boolean }) => {
      if (opts.conversation) {
        const policy = await helpers.admin('retention.show', { conversationId: conversationId(opts.conversation) });
        if (opts.json) return print(JSON.stringify(policy, null, 2));
        const p = policy as { kind: string; days: number | null; source: string };
        return print(`${opts.conversation}\t${p.kind}\t${days(p.days)}\t(${p.source})`);
      }
      const view = (await helpers.admin('retention.show', {})) as { kinds: Array<{ kind: string; days: number | null; source: string; configured: number | null }>; conversations: Array<{ conversationId: string; days: number | null }> };
      if (opts.json) return print(JSON.stringify(view, null, 2));
      for (const k of view.kinds) print(`${k.kind}\t${days(k.days)}\t(${k.source === 'config' ? 'config' : `admin; config says ${days(k.configured)}`})`);
      for (const c of view.conversations) print(`conversation ${c.conversationId}\t${days(c.days)}\t(admin)`);
    });

  retention
    .command('set <kind> <days>')
    .description(`set a room kind's retention (${ROOM_KINDS.join(', ')}): a number of days, "forever", or "default" (the configured one)`)
    .action(async (kind: string, word: string) => {
      if (!isRoomKind(kind)) throw badRequest(`unknown room kind "${kind}": expected one of ${ROOM_KINDS.join(', ')}`);
      await helpers.admin('retention.set', { kind, days: parseDaysWord(word) });
      print(`${kind}: ${word === 'default' ? 'the configured default' : days(parseDaysWord(word) as number | null)}`);
    });

  retention
    .command('set-conversation <id> <days>')
    .description('set one conversation\'s retention: a number of days, "forever", or "default" (its room kind\'s)')
    .action(async (id: string, word: string) => {
      const policy = (await helpers.admin('retention.set', { conversationId: conversationId(id), days: parseDaysWord(word) })) as { days: number | null; source: string };
      print(`${id}: ${days(policy.days)} (${policy.source})`);
    });

  retention
    .command('run')
    .description('run the retention purge now (it also runs on its schedule, jobs.schedules.retentionPurge)')
    .action(async () => {
      const job = (await helpers.admin('jobs.run', { queue: BUILTIN_JOBS.retentionPurge.queue, job: BUILTIN_JOBS.retentionPurge.name })) as { id: string };
      print(`retention purge queued: ${job.id} (see \`mosaic jobs show ${job.id}\`)`);
    });
}
