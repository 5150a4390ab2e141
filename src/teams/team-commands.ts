/**
 * The team commands every channel shares: `!share <team>` and `!unshare` in
 * a conversation (its owner only), and `!team …` to list teams and, for
 * owners, add or remove members — by username, or by a chat account id
 * linked on the channel the command came from (`@bob:example.org` on Matrix).
 */
import type { ChannelIdentityStore } from '../identity/channel-identity-store.ts';
import { CommandUsageError } from '../commands/registry.ts';
import type { CommandContext, CommandDefinition } from '../commands/types.ts';
import { forbidden, notFound } from '../errors.ts';
import type { TeamService } from './team-service.ts';
import type { TeamRole } from './team-store.ts';

/** Who the command speaks for: the person who wrote it (in a shared room, not necessarily its owner). */
const speakerOf = (ctx: CommandContext) => ctx.speakerId ?? ctx.actor.userId;

function ownerOnly(ctx: CommandContext): void {
  if (speakerOf(ctx) !== ctx.actor.userId) throw forbidden('only the owner of this conversation can share or unshare it');
}

export function teamCommands(teams: TeamService, identities: Pick<ChannelIdentityStore, 'ownerOf'>): CommandDefinition[] {
  async function person(ctx: CommandContext, ref: string): Promise<{ userId?: string; username?: string }> {
    if (!ref.startsWith('@')) return { username: ref };
    const owner = await identities.ownerOf(ctx.channel, ref);
    if (!owner) throw notFound(`a Mosaic account linked to ${ref.slice(0, 255)}`);
    return { userId: owner.userId };
  }
  const share: CommandDefinition = {
    name: 'share',
    usage: '!share <team>',
    summary: "share this conversation with one of your teams (its members are invited; it moves to the team's Space)",
    needsConversation: true,
    async run(cmd, ctx) {
      ownerOnly(ctx);
      const ref = cmd.args[0];
      if (!ref) throw new CommandUsageError(this.usage, 'Name the team (its slug)');
      const conv = await teams.share(ctx.actor, ctx.conversationId!, ref);
      return { text: `Shared with team **${conv.team.name}** (\`${conv.team.slug}\`): its members are invited and see this conversation. \`!unshare\` stops it.`, data: { teamId: conv.team.id } };
    },
  };
  const unshare: CommandDefinition = {
    name: 'unshare',
    usage: '!unshare',
    summary: 'stop sharing this conversation with its team (people invited through the team leave)',
    needsConversation: true,
    async run(_cmd, ctx) {
      ownerOnly(ctx);
      const conv = await teams.unshare(ctx.actor, ctx.conversationId!);
      return { text: conv.teamId === null ? 'This conversation is no longer shared: only you (and people you invited yourself) see it.' : 'Nothing changed.', data: { teamId: null } };
    },
  };
  const team: CommandDefinition = {
    name: 'team',
    usage: '!team [list] | !team add <team> <@user:server|username> [owner] | !team remove <team> <@user:server|username>',
    summary: 'your teams; owners add and remove members',
    needsConversation: false,
    async run(cmd, ctx) {
      // In a shared room the command runs as the room's owner: teams are changed in one's own DM with the bot.
      if (speakerOf(ctx) !== ctx.actor.userId) throw forbidden('`!team` works in your direct message with the bot');
      const actor = ctx.actor;
      const [what = 'list', teamRef, who, role] = cmd.args;
      if (what === 'list') {
        const mine = await teams.list(actor);
        if (mine.length === 0) return { text: 'You are in no team yet. Create one with `POST /api/teams` (see docs/teams.md).', data: { teams: [] } };
        const lines = await Promise.all(mine.map(async (t) => `- **${t.name}** (\`${t.slug}\`), ${t.myRole}, ${(await teams.store.membersOf(t.id)).length} member(s)`));
        return { text: ['Your teams:', ...lines].join('\n'), data: { teams: mine.map((t) => ({ id: t.id, slug: t.slug, role: t.myRole })) } };
      }
      if ((what !== 'add' && what !== 'remove') || !teamRef || !who) throw new CommandUsageError(this.usage);
      if (what === 'add') {
        if (role !== undefined && role !== 'owner' && role !== 'member') throw new CommandUsageError(this.usage, 'The role is `owner` or `member`');
        const r = await teams.addMember(actor, teamRef, await person(ctx, who), (role ?? 'member') as TeamRole);
        return { text: r.added ? `Added **${r.member.username}** to **${r.team.name}** as ${r.member.role}.` : `**${r.member.username}** is in **${r.team.name}** already; now ${r.member.role}.`, data: { added: r.added } };
      }
      const r = await teams.removeMember(actor, teamRef, await person(ctx, who));
      return { text: r.removed ? `Removed them from **${r.team.name}**.` : `They were not in **${r.team.name}**; nothing changed.`, data: { removed: r.removed } };
    },
  };
  return [share, unshare, team];
}
