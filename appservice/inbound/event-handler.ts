/**
 * What Mosaic does with one pushed event: invites (the bot joins, a ghost
 * turns the room into a conversation), messages (to the conversation
 * service, answered or only stored, or to the bot's DM commands),
 * redactions, encryption. Events of our own users are never acted on.
 */
import type { ConversationServices } from '../../src/conversations/conversation-services.ts';
import type { ConversationStore } from '../../src/conversations/conversation-store.ts';
import type { CommandRegistry } from '../../src/commands/registry.ts';
import type { Logger } from '../../src/logging.ts';
import { errorMessage } from '../../src/errors.ts';
import type { ChannelMessage } from '../../src/protocol/channel-message.ts';
import type { BotCommands } from './bot-commands.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import type { DirectRooms } from '../identity/direct-rooms.ts';
import type { IdentityService } from '../identity/identities.ts';
import { parseCommand } from '../../src/commands/parse.ts';
import { isMatrixError, type MatrixClient } from '../transport/matrix-client.ts';
import { shouldAnswer } from './reply-policy.ts';
import type { RoomManager } from '../rooms/room-manager.ts';
import type { RoomMembers } from '../rooms/room-members.ts';
import type { RoomStore, RoomWithConversation } from '../rooms/room-store.ts';
import { mentions, relationsOf, toChannelMessage, UntranslatableEvent, type MatrixEvent } from '../translation/translate-inbound.ts';

export type Outcome = { status: 'done' } | { status: 'skipped'; reason: string };

const done: Outcome = { status: 'done' };
const skip = (reason: string): Outcome => ({ status: 'skipped', reason });

export const ENCRYPTED_NOTICE =
  'This room is end-to-end encrypted, and Mosaic cannot read encrypted rooms yet, so I will not answer here. Invite me to a room without encryption (or DM me from one) to talk.';

export interface EventHandlerDeps {
  client: MatrixClient;
  ghosts: Ghosts;
  rooms: RoomStore;
  conversations: ConversationStore;
  manager: RoomManager;
  /** Joined members per room, cached until a membership event of the room. */
  members: RoomMembers;
  identities: IdentityService;
  /** The bot's DMs (m.direct): a DM a person opens with the bot is remembered there. */
  directs: DirectRooms;
  service: ConversationServices;
  commands: CommandRegistry;
  bot: BotCommands;
  logger: Logger;
  inlineMediaBytes: number;
  /** Inbound messages are also handed to the adapter's handler (IChannelAdapter.onMessage). */
  observe(msg: ChannelMessage): Promise<void>;
  /** Agent rooms (appservice/agent-rooms/) show delegations; people's messages there are not bot commands. */
  agentRooms: { isAgentRoom(roomId: string): Promise<boolean>; message(e: MatrixEvent): Promise<unknown> };
}

export class EventHandler {
  constructor(private readonly d: EventHandlerDeps) {}

  async handle(e: MatrixEvent): Promise<Outcome> {
    // Any membership change, ours included (a ghost joining, the bot leaving), makes the room's cached member list stale.
    if (e.type === 'm.room.member') await this.d.members.changed(e.room_id);
    if (this.d.ghosts.isOurs(e.sender)) return skip('sent by one of our own users');
    switch (e.type) {
      case 'm.room.member':
        return this.member(e);
      case 'm.room.message':
        return this.message(e);
      case 'm.room.redaction':
        return this.redaction(e);
      case 'm.room.encryption':
      case 'm.room.encrypted':
        return this.encryption(e);
      default:
        return skip(`type ${e.type} is not used`);
    }
  }

  // ---- membership ----------------------------------------------------------------------------

  private async member(e: MatrixEvent): Promise<Outcome> {
    const target = e.state_key ?? '';
    if (e.content.membership !== 'invite' || !this.d.ghosts.isOurs(target)) return skip('membership change of no concern');
    if (target === this.d.ghosts.botUserId) return this.botInvited(e);
    const agentId = this.d.ghosts.agentIdOf(target);
    if (!agentId) return skip('invite for an unknown user of our namespace');
    return this.ghostInvited(e, agentId);
  }

  private async encrypted(roomId: string, asUser: string): Promise<boolean> {
    return (await this.d.client.getState(roomId, 'm.room.encryption', '', asUser)) !== null;
  }

  private async botInvited(e: MatrixEvent): Promise<Outcome> {
    const bot = this.d.ghosts.botUserId;
    await this.d.client.join(e.room_id, bot);
    if (await this.encrypted(e.room_id, bot)) {
      await this.d.manager.notice(e.room_id, bot, ENCRYPTED_NOTICE, `encrypted:${e.event_id}`);
      return done;
    }
    if (e.content.is_direct === true) await this.d.directs.remember(e.sender, e.room_id);
    const actor = await this.d.identities.actorFor(e.sender);
    const text = actor ? this.d.bot.greeting() : await this.d.identities.refusal(e.sender, { roomId: e.room_id, asUser: bot, alone: await this.alone(e.room_id, e.sender, bot) });
    await this.d.manager.notice(e.room_id, bot, text, `greeting:${e.event_id}`);
    this.d.logger.info({ channel: 'matrix', event: 'bot.joined', roomId: e.room_id, inviter: e.sender, linked: actor !== null }, 'bot joined a room');
    return done;
  }

  private async ghostInvited(e: MatrixEvent, agentId: string): Promise<Outcome> {
    const agent = await this.d.ghosts.agent(agentId);
    if (!agent) return skip('invite for a ghost whose agent no longer exists');
    const actor = await this.d.identities.actorFor(e.sender);
    // Another user's private agent is not there for this inviter: nothing is registered, joined or said.
    if (agent.ownerId !== null && agent.ownerId !== actor?.userId) return skip("invite for another user's private agent");
    const ghost = await this.d.ghosts.ensure(agent);
    await this.d.client.join(e.room_id, ghost);
    const existing = await this.d.rooms.byRoomId(e.room_id);
    if (existing) {
      if (existing.agentId !== agentId) {
        await this.d.manager.notice(e.room_id, ghost, `This room already is a conversation with another agent. To have me answer here, send \`!agent ${agent.name}\`.`, `second-agent:${e.event_id}`);
      }
      return done;
    }
    if (await this.encrypted(e.room_id, ghost)) {
      await this.d.manager.notice(e.room_id, ghost, ENCRYPTED_NOTICE, `encrypted:${e.event_id}`);
      return done;
    }
    if (!actor) {
      const text = await this.d.identities.refusal(e.sender, { roomId: e.room_id, asUser: ghost, alone: await this.alone(e.room_id, e.sender, ghost) });
      await this.d.manager.notice(e.room_id, ghost, text, `unlinked:${e.event_id}`);
      await this.d.client.leave(e.room_id, ghost);
      return done;
    }
    const conversation = await this.d.service.api.create(actor, { agent: agentId });
    // Messages sent from the invite on are ours to answer (the ghost may join a moment later).
    const linked = await this.d.rooms.link({ conversationId: conversation.id, roomId: e.room_id, botJoinedAt: new Date(e.origin_server_ts) });
    this.d.logger.info({ channel: 'matrix', event: 'room.linked', roomId: e.room_id, conversationId: linked.conversationId, agent: agent.name }, 'room is now a conversation');
    await this.d.manager.roomLinked(linked.conversationId);
    return done;
  }

  // ---- messages ------------------------------------------------------------------------------

  private async message(e: MatrixEvent): Promise<Outcome> {
    const mapped = await this.d.rooms.byRoomId(e.room_id);
    if (!mapped) return this.unmappedMessage(e);
    if (mapped.deleted || mapped.archived || mapped.room.tombstonedAt) return skip('the conversation is archived or deleted');
    if (mapped.room.encrypted) return skip('encrypted room');
    if (mapped.room.botJoinedAt && e.origin_server_ts < mapped.room.botJoinedAt.getTime()) return skip('sent before Mosaic joined');
    if (e.content['org.matrix.msc2716.historical'] === true) return skip('historical (backfilled) event');
    return this.conversationMessage(e, mapped);
  }

  private async unmappedMessage(e: MatrixEvent): Promise<Outcome> {
    // The bot's own rooms (its DMs) are where people run the DM commands.
    let humans: string[];
    try {
      const members = await this.d.members.joined(e.room_id, this.d.ghosts.botUserId);
      if (!(this.d.ghosts.botUserId in members)) return skip('room is not a conversation');
      humans = Object.keys(members).filter((m) => !this.d.ghosts.isOurs(m));
    } catch (err) {
      if (isMatrixError(err) && (err.status === 403 || err.status === 404)) return skip('room is not a conversation');
      throw err;
    }
    if (await this.d.agentRooms.isAgentRoom(e.room_id)) {
      // A person's message there interrupts (or, `!stop`, halts) the exchange; it is never a bot command.
      await this.d.agentRooms.message(e);
      return done;
    }
    const body = typeof e.content.body === 'string' ? e.content.body : null;
    if (body === null) return skip('message without a text body');
    if (relationsOf(e.content).replaces) return skip('edit in the bot DM');
    await this.d.bot.handle(e, body, humans);
    return done;
  }

  private async conversationMessage(e: MatrixEvent, mapped: RoomWithConversation): Promise<Outcome> {
    const conversationId = mapped.room.conversationId;
    const speaker = await this.d.manager.speakerFor(mapped);
    // A link token is a secret: one written where others read it is cancelled, and never stored or shown to a model.
    const newContent = e.content['m.new_content'] as { body?: unknown } | undefined;
    const linkCommand = [e.content.body, newContent?.body].find((t): t is string => typeof t === 'string' && parseCommand(t)?.name === 'link');
    if (linkCommand !== undefined) {
      await this.d.bot.linkInRoom(e, linkCommand, speaker);
      return done;
    }
    const members = await this.d.members.joined(e.room_id, speaker);
    const rel = relationsOf(e.content);
    const actor = await this.d.identities.actorFor(e.sender, members[e.sender]?.display_name ?? null);
    if (!actor) {
      // Refusing does no more work than deciding whether to say so: no translation, no media, no markdown.
      const rawBody = typeof e.content.body === 'string' ? e.content.body : '';
      const isCommand = this.d.commands.match(rawBody) !== null;
      if (isCommand || (await this.wantsAnswer(e, mapped, members, speaker, rel, false))) {
        const alone = Object.keys(members).every((m) => m === e.sender || this.d.ghosts.isOurs(m));
        const refusal = await this.d.identities.refusal(e.sender, { roomId: e.room_id, asUser: speaker, alone });
        await this.d.manager.notice(e.room_id, speaker, refusal, `unlinked:${e.event_id}`, { 'm.in_reply_to': { event_id: e.event_id } });
      }
      return done;
    }
    let msg: ChannelMessage;
    try {
      msg = await toChannelMessage(e, {
        client: this.d.client,
        logger: this.d.logger,
        inlineMediaBytes: this.d.inlineMediaBytes,
        messageIdFor: (eventId) => this.d.rooms.messageIdForEvent(conversationId, eventId),
      });
    } catch (err) {
      if (err instanceof UntranslatableEvent) return skip(err.message);
      throw err;
    }
    const humans = Object.keys(members).filter((m) => !this.d.ghosts.isOurs(m));
    const isCommand = msg.senderType === 'user' && this.d.commands.match(msg.content) !== null;
    const answer = await this.wantsAnswer(e, mapped, members, speaker, rel, isCommand);
    const owner = await this.d.identities.actorById(mapped.ownerId);
    if (!owner) return skip("the conversation's owner is disabled");
    const senderName = humans.length > 1 ? (members[e.sender]?.display_name ?? e.sender) : undefined;
    if (actor.userId !== mapped.ownerId) msg.metadata.mosaicUserId = actor.userId;
    const result = await this.d.service.inbound.receive(owner, conversationId, msg, 'matrix', { answer: answer && !isCommand, ...(senderName ? { senderName } : {}) });
    if (!result.created) return skip('already stored (a repeated event)');
    await this.d.observe(msg).catch((err: unknown) => this.d.logger.warn({ channel: 'matrix', event: 'observer.failed', err: errorMessage(err) }, 'message handler failed'));
    const opened = result.command?.result.openConversationId;
    if (opened) await this.d.bot.openForUser(owner, opened, e.sender, e.room_id, speaker, e.event_id);
    return done;
  }

  /** Whether the room's reply mode says this message is for the agent (not an edit, not a notice). */
  private async wantsAnswer(e: MatrixEvent, mapped: RoomWithConversation, members: Record<string, { display_name?: string | null }>, speaker: string, rel: ReturnType<typeof relationsOf>, isCommand: boolean): Promise<boolean> {
    if (rel.replaces || e.content.msgtype === 'm.notice') return false;
    const humans = Object.keys(members).filter((m) => !this.d.ghosts.isOurs(m));
    return shouldAnswer({
      mode: mapped.room.replyMode,
      humans: humans.length,
      mentioned: mentions(e, speaker, members[speaker]?.display_name ?? null),
      repliedToUs: rel.inReplyTo !== null && (await this.isOurEvent(e.room_id, rel.inReplyTo, speaker)),
      isCommand,
    });
  }

  /** Whether `person` is the only human joined in the room (so a secret link may be shown there). */
  private async alone(roomId: string, person: string, asUser: string): Promise<boolean> {
    const members = await this.d.members.joined(roomId, asUser).catch(() => null);
    return members !== null && Object.keys(members).every((m) => m === person || this.d.ghosts.isOurs(m));
  }

  private async isOurEvent(roomId: string, eventId: string, asUser: string): Promise<boolean> {
    const event = await this.d.client.getEvent(roomId, eventId, asUser).catch(() => null);
    return event !== null && this.d.ghosts.isOurs(event.sender);
  }

  // ---- redactions and encryption --------------------------------------------------------------

  private async redaction(e: MatrixEvent): Promise<Outcome> {
    const target = typeof e.redacts === 'string' ? e.redacts : typeof e.content.redacts === 'string' ? e.content.redacts : null;
    if (!target) return skip('redaction without a target');
    const reason = typeof e.content.reason === 'string' ? e.content.reason : null;
    const mapped = await this.d.rooms.byRoomId(e.room_id);
    const owner = mapped ? await this.d.identities.actorById(mapped.ownerId) : null;
    if (!owner) return skip('redaction in a room that is not a conversation');
    // Scoped to the room's owner: an event id from another conversation is not found.
    const marked = await this.d.conversations.markRedacted(owner, 'matrix', target, { redactedBy: e.sender, ...(reason ? { redactionReason: reason } : {}) });
    return marked ? done : skip('redacted event is not stored');
  }

  private async encryption(e: MatrixEvent): Promise<Outcome> {
    const mapped = await this.d.rooms.byRoomId(e.room_id);
    if (!mapped) return skip('encryption in a room that is not a conversation');
    if (!(await this.d.rooms.markEncrypted(e.room_id))) return skip('encryption already noted');
    const speaker = await this.d.manager.speakerFor(mapped);
    await this.d.manager.notice(e.room_id, speaker, ENCRYPTED_NOTICE, `encrypted:${e.room_id}`);
    return done;
  }
}
