/**
 * The bot's direct-message commands (`!new [title]`, `!agents`, `!rooms`,
 * `!open <n>`, `!link [token]`, and the shared ones that need no
 * conversation), and the
 * Matrix-only room command `!room reply-to all|mentions`, registered in the
 * shared command registry so it is stored and answered like the others.
 */
import type { ConversationServices } from '../../src/conversations/conversation-services.ts';
import type { CommandRegistry } from '../../src/commands/registry.ts';
import { CommandUsageError } from '../../src/commands/registry.ts';
import type { CommandDefinition } from '../../src/commands/types.ts';
import { parseCommand } from '../../src/commands/parse.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { isMosaicError } from '../../src/errors.ts';
import type { Logger } from '../../src/logging.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import type { ChannelLinkService } from '../../src/identity/channel-link-service.ts';
import { CHANNEL, type Audience, type IdentityService } from '../identity/identities.ts';
import { notHereReply, redeemReply } from '../identity/link-replies.ts';
import { matrixTo, type RoomManager } from '../rooms/room-manager.ts';
import type { RoomStore } from '../rooms/room-store.ts';
import type { MatrixEvent } from '../translation/translate-inbound.ts';

const link = matrixTo;

export const DM_HELP = [
  '**In this direct message**',
  '- `!new [title]` — start a conversation in a new room (with the default agent) and invite you',
  '- `!agents` — the agents you can talk to; invite one to any room, or DM it',
  '- `!rooms` — your conversations and their rooms; `!open <number>` invites you to one',
  '- `!link` — which Mosaic account your Matrix account is linked to; `!link <token>` links it',
  '- `!help` — every command',
].join('\n');

export class BotCommands {
  constructor(
    private readonly deps: {
      service: ConversationServices;
      commands: CommandRegistry;
      identities: IdentityService;
      links: ChannelLinkService;
      ghosts: Ghosts;
      rooms: RoomStore;
      manager: RoomManager;
      logger: Logger;
    },
  ) {}

  greeting(): string {
    return `Hi! I'm Mosaic. Invite an agent to any room (or DM it) to talk to it; here you can manage your conversations.\n\n${DM_HELP}`;
  }

  /**
   * A message in a room where the bot is joined and that is not a
   * conversation (its DMs). `humans`: the people joined in the room.
   */
  async handle(e: MatrixEvent, body: string, humans: string[]): Promise<void> {
    const { manager, identities } = this.deps;
    const bot = this.deps.ghosts.botUserId;
    const reply = (text: string) => manager.notice(e.room_id, bot, text, `dm:${e.event_id}`, { 'm.in_reply_to': { event_id: e.event_id } });
    const parsed = parseCommand(body);
    const audience: Audience = { roomId: e.room_id, asUser: bot, alone: humans.every((h) => h === e.sender) };
    // Linking is for people who are not linked yet: it comes before the account check.
    if (parsed?.name === 'link') return void (await reply(await this.link(e.sender, parsed.args, audience)));
    const actor = await identities.actorFor(e.sender);
    if (!actor) return void (await reply(await identities.refusal(e.sender, audience)));
    if (!parsed) return void (await reply('I take commands here; agents answer in their rooms. Send `!help` for the list, or `!new` to start a conversation.'));
    try {
      await reply(await this.run(actor, parsed.name, parsed.rest, parsed.args, e, body));
    } catch (err) {
      if (isMosaicError(err) && err.httpStatus < 500) return void (await reply(`⚠️ ${err.userNotice}`));
      throw err;
    }
  }

  /** `!link` (where am I linked / a sign-in link) and `!link <token>`. */
  private async link(sender: string, args: string[], audience: Audience): Promise<string> {
    const { identities, links } = this.deps;
    const [token, ...extra] = args;
    if (!audience.alone) return notHereReply(this.deps.ghosts.botUserId, token ? await links.cancelToken(token) : false);
    if (extra.length > 0) return 'Usage: `!link <token>` (one token), or `!link` alone for a sign-in link.';
    if (token) return redeemReply(await links.redeemToken({ channel: CHANNEL, channelUserId: sender, token }), sender);
    const owner = await links.ownerOf(CHANNEL, sender);
    if (owner && !owner.disabled) return `Your Matrix account ${sender} is linked to the Mosaic account **${owner.username}**. To link it to another account, unlink it first (\`DELETE /api/auth/channel-links/matrix/${sender}\`, or ask your admin).`;
    return identities.refusal(sender, audience);
  }

  /** `!link …` in a conversation room, where others can read it: not stored, the token cancelled. */
  async linkInRoom(e: MatrixEvent, body: string, speaker: string): Promise<void> {
    const token = parseCommand(body)?.args[0];
    const cancelled = token ? await this.deps.links.cancelToken(token) : false;
    await this.deps.manager.notice(e.room_id, speaker, notHereReply(this.deps.ghosts.botUserId, cancelled), `link-in-room:${e.event_id}`, { 'm.in_reply_to': { event_id: e.event_id } });
  }

  private agentLines(agents: Array<{ id: string; name: string; displayName: string; description: string }>): string[] {
    return agents.map((a) => `- **${a.displayName}** (\`${a.name}\`) — ${a.description || 'no description'} — \`${this.deps.ghosts.userIdFor(a.id)}\``);
  }

  /** The welcome an admin-linked person gets in their DM: who they are here, the agents, the commands. */
  async welcome(actor: Actor, matrixUserId: string): Promise<string> {
    const agents = await this.deps.service.stores.agents.list(actor);
    return [
      `👋 Welcome to Mosaic! Your Matrix account ${matrixUserId} is linked to the Mosaic account **${actor.username}**, so you can talk to Mosaic's agents from Matrix.`,
      '',
      '**Agents** — invite one to any room, or start a DM with it:',
      ...this.agentLines(agents),
      '',
      DM_HELP,
    ].join('\n');
  }

  private async run(actor: Actor, name: string, rest: string, args: string[], e: MatrixEvent, body: string): Promise<string> {
    const { service, rooms } = this.deps;
    switch (name) {
      case 'new': {
        const conversation = await service.api.create(actor, rest ? { title: rest } : {});
        const roomId = await this.deps.manager.createConversationRoom({ conversationId: conversation.id, title: conversation.title, agentId: conversation.agentId, humans: [e.sender] });
        return `Started **${conversation.title}** in a new room — I've invited you: ${link(roomId)}`;
      }
      case 'agents': {
        const agents = await service.stores.agents.list(actor);
        return [
          '**Agents** — invite one to a room (or start a DM with it) to talk:',
          ...this.agentLines(agents),
        ].join('\n');
      }
      case 'rooms': {
        const list = await rooms.conversationsOf(actor.userId);
        if (list.length === 0) return 'You have no conversations yet. `!new` starts one.';
        return [
          '**Your conversations** (newest first):',
          ...list.map((c, i) => `${i + 1}. ${c.title}${c.archived ? ' _(archived)_' : ''} — ${c.roomId ? link(c.roomId) : 'no room yet'}`),
          '',
          '`!open <number>` invites you to one (its room is created if it has none).',
        ].join('\n');
      }
      case 'open': {
        const list = await rooms.conversationsOf(actor.userId);
        const ref = args[0] ?? '';
        const chosen = /^\d+$/.test(ref) ? list[Number(ref) - 1] : list.find((c) => c.id === ref);
        if (!chosen) throw new CommandUsageError('!open <number from !rooms>', ref ? `No conversation "${ref}"` : 'Which one?');
        const conv = await service.stores.conversations.get(actor, chosen.id);
        const roomId = await this.deps.manager.openConversationRoom({ conversationId: conv.id, title: conv.title, agentId: conv.agentId, human: e.sender });
        return `Opened **${conv.title}**: ${link(roomId)}`;
      }
      case 'help': {
        const shared = (await service.inbound.executeCommand(actor, '!help', null, 'matrix'))?.text ?? '';
        return `${DM_HELP}\n\n${shared}`;
      }
      default: {
        const result = await service.inbound.executeCommand(actor, body, null, 'matrix');
        return result?.text ?? `Unknown command \`!${name}\`. Send \`!help\` for the list.`;
      }
    }
  }

  /** `!new` inside a conversation room: the new conversation gets its own room, and the sender is invited. */
  async openForUser(owner: Actor, conversationId: string, human: string, fromRoom: string, speaker: string, eventId: string): Promise<void> {
    const conv = await this.deps.service.stores.conversations.get(owner, conversationId);
    const roomId = await this.deps.manager.openConversationRoom({ conversationId, title: conv.title, agentId: conv.agentId, human });
    await this.deps.manager.notice(fromRoom, speaker, `The new conversation has its own room — you're invited: ${link(roomId)}`, `opened:${eventId}`);
  }
}

/** `!room reply-to all|mentions` (and `auto`): when the agent answers in this room. */
export function roomCommand(rooms: RoomStore): CommandDefinition {
  return {
    name: 'room',
    usage: '/room reply-to all|mentions|auto',
    summary: 'Matrix rooms: answer every message, only when addressed, or automatically (everything with one person, mentions with several)',
    needsConversation: true,
    async run(cmd, ctx) {
      const [what, mode] = cmd.args;
      if (what !== 'reply-to' || (mode !== 'all' && mode !== 'mentions' && mode !== 'auto')) throw new CommandUsageError(this.usage);
      const changed = await rooms.setReplyMode(ctx.conversationId!, mode);
      if (!changed) return { text: '`!room` works in the Matrix room of a conversation.' };
      const text =
        mode === 'all'
          ? 'From now on I answer every message in this room.'
          : mode === 'mentions'
            ? 'From now on I answer only when mentioned, replied to, or given a command.'
            : 'Back to automatic: every message while one person is here, only mentions when there are several.';
      return { text, data: { replyMode: mode } };
    },
  };
}
