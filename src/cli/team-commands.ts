/** `mosaic team …`: teams and their members, through the admin operations (the running server's, or this process's). */
import type { Command } from 'commander';
import type { CliHelpers } from '../cli.ts';
import { UsageError } from './usage.ts';

type Print = (line: string) => void;

/** "12.50" → 12.5; "none" → null (no team budget). */
function parseBudget(value: string): number | null {
  if (value === 'none') return null;
  const usd = Number(value);
  if (!Number.isFinite(usd) || usd < 0) throw new UsageError(`"${value}" is not a budget: give USD per month (such as 50) or "none"`);
  return usd;
}

export function registerTeamCommands(program: Command, helpers: CliHelpers, print: Print = (line) => console.log(line)): void {
  const team = program.command('team').description('manage teams: people who share conversations (docs/teams.md)');
  team
    .command('create <slug>')
    .description('create a team with a first owner')
    .requiredOption('--owner <name>', 'the account that owns the team')
    .option('--name <name>', 'a display name (the Space name on Matrix); the slug otherwise')
    .option('--budget <usd>', 'a monthly budget in USD that shared conversations draw on')
    .action(async (slug: string, opts: { owner: string; name?: string; budget?: string }) => {
      const created = await helpers.admin('team.create', { slug, owner: opts.owner, ...(opts.name !== undefined ? { name: opts.name } : {}), ...(opts.budget !== undefined ? { monthlyBudgetUsd: parseBudget(opts.budget) } : {}) });
      print(`created team ${created.slug} (${created.id}) owned by ${opts.owner}`);
    });
  team
    .command('list')
    .description('list every team (slug, name, members, budget, id)')
    .action(async () => {
      const { teams } = await helpers.admin('team.list', {});
      if (teams.length === 0) print('no teams yet: create one with `mosaic team create <slug> --owner <name>`');
      for (const t of teams) print(`${t.slug}\t${t.name}\t${t.members} member(s)\t${t.monthlyBudgetUsd === null ? 'no budget' : `$${t.monthlyBudgetUsd}/month`}\t${t.id}`);
    });
  team
    .command('show <team>')
    .description('a team and its members')
    .action(async (ref: string) => {
      const t = await helpers.admin('team.show', { team: ref });
      print(`${t.slug}\t${t.name}\t${t.monthlyBudgetUsd === null ? 'no budget' : `$${t.monthlyBudgetUsd}/month`}\t${t.id}`);
      for (const m of t.members) print(`  ${m.username}\t${m.role}\tsince ${m.joinedAt}`);
    });
  team
    .command('add <team> <name>')
    .description("add an account to a team (or change its role); on Matrix it is invited to the team's Space and shared rooms")
    .option('--owner', 'as an owner (who may change the team)')
    .action(async (ref: string, name: string, opts: { owner?: boolean }) => {
      const r = await helpers.admin('team.add', { team: ref, username: name, role: opts.owner ? 'owner' : 'member' });
      print(r.added ? `added ${name} to ${r.team.slug} as ${r.member.role}` : `${name} was in ${r.team.slug} already; now ${r.member.role}`);
    });
  team
    .command('remove <team> <name>')
    .description('remove an account from a team; it no longer sees the conversations shared with the team')
    .action(async (ref: string, name: string) => {
      const r = await helpers.admin('team.remove', { team: ref, username: name });
      print(r.removed ? `removed ${name} from ${r.team.slug}` : `${name} was not in ${r.team.slug}; nothing changed`);
    });
  team
    .command('budget <team> <usd>')
    .description('set the monthly budget (USD) shared conversations draw on; "none" removes it')
    .action(async (ref: string, usd: string) => {
      const t = await helpers.admin('team.update', { team: ref, monthlyBudgetUsd: parseBudget(usd) });
      print(t.monthlyBudgetUsd === null ? `${t.slug} has no team budget now` : `${t.slug}: $${t.monthlyBudgetUsd} per month`);
    });
  team
    .command('delete <team>')
    .description("delete a team: its conversations stay their owners' and are no longer shared")
    .action(async (ref: string) => {
      const { deleted } = await helpers.admin('team.delete', { team: ref });
      print(`deleted team ${deleted.slug}`);
    });
}
