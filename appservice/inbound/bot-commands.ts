/**
 * The bot's direct-message commands (`!new [title]`, `!agents`, `!rooms`,
 * `!open <n>`, and the shared ones that need no conversation), and the
 * Matrix-only room command `!room reply-to all|mentions`, registered in the
 * shared command registry so it is stored and answered like the others.
 */
import type { ConversationService } from '../../src/conversations/conversation-service.ts';
import type { CommandRegistry } from '../../src/commands/registry.ts';
import { CommandUsageError } from '../../src/commands/registry.ts';
import type { CommandDefinition } from '../../src/commands/types.ts';
import { parseCommand } from '../../src/commands/parse.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { isMosaicError } from '../../src/errors.ts';
import type { Logger } from '../../src/logging.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import { howToLinkLine, type IdentityService } from '../identity/identities.ts';
import { matrixTo, type RoomManager } from '../rooms/room-manager.ts';
import type { RoomStore } from '../rooms/room-store.ts';
import type { MatrixEvent } from '../translation/translate-inbound.ts';

const link = matrixTo;

export const DM_HELP = [
  '**In this direct message**',
  '- `!new [title]` — start a conversation in a new room (with the default agent) and invite you',
  '- `!agents` — the agents you can talk to; invite one to any room, or DM it',
  '- `!rooms` — your conversations and their rooms; `!open <number>` invites you to one',
  '- `!help` — every command',
].join('\n');

export class BotCommands {
  constructor(
    private readonly deps: {
      service: ConversationService;
      commands: CommandRegistry;
      identities: IdentityService;
      ghosts: Ghosts;
      rooms: RoomStore;
      manager: RoomManager;
      logger: Logger;
    },
  ) {}

  greeting(): string {
    return `Hi! I'm Mosaic. Invite an agent to any room (or DM it) to talk to it; here you can manage your conversations.\n\n${DM_HELP}`;
  }

  /** A message in a room where the bot is joined and that is not a conversation (its DMs). */
  async handle(e: MatrixEvent, body: string): Promise<void> {
    const { manager, identities } = this.deps;
    const bot = this.deps.ghosts.botUserId;
    const reply = (text: string) => manager.notice(e.room_id, bot, text, `dm:${e.event_id}`, { 'm.in_reply_to': { event_id: e.event_id } });
    const actor = await identities.actorFor(e.sender);
    if (!actor) return void (await reply(howToLinkLine(e.sender)));
    const parsed = parseCommand(body);
    if (!parsed) return void (await reply('I take commands here; agents answer in their rooms. Send `!help` for the list, or `!new` to start a conversation.'));
    try {
      await reply(await this.run(actor, parsed.name, parsed.rest, parsed.args, e, body));
    } catch (err) {
      if (isMosaicError(err) && err.httpStatus < 500) return void (await reply(`⚠️ ${err.userNotice}`));
      throw err;
    }
  }

  private async run(actor: Actor, name: string, rest: string, args: string[], e: MatrixEvent, body: string): Promise<string> {
    const { service, rooms, ghosts } = this.deps;
    switch (name) {
      case 'new': {
        const conversation = await service.create(actor, rest ? { title: rest } : {});
        const roomId = await this.deps.manager.createConversationRoom({ conversationId: conversation.id, title: conversation.title, agentId: conversation.agentId, humans: [e.sender] });
        return `Started **${conversation.title}** in a new room — I've invited you: ${link(roomId)}`;
      }
      case 'agents': {
        const agents = await service.stores.agents.list(actor);
        return [
          '**Agents** — invite one to a room (or start a DM with it) to talk:',
          ...agents.map((a) => `- **${a.displayName}** (\`${a.name}\`) — ${a.description || 'no description'} — \`${ghosts.userIdFor(a.id)}\``),
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
        const shared = (await service.executeCommand(actor, '!help', null, 'matrix'))?.text ?? '';
        return `${DM_HELP}\n\n${shared}`;
      }
      default: {
        const result = await service.executeCommand(actor, body, null, 'matrix');
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
