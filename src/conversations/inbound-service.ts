/**
 * Messages arriving from any surface, as ChannelMessages: stored once (a
 * repeat of a channel-native id is a no-op), published, then either run as
 * a command (its result stored as a notice) or queued for an answer.
 */
import type { Actor } from '../identity/actor.ts';
import type { ChannelMessage } from '../protocol/channel-message.ts';
import { MosaicError } from '../errors.ts';
import type { CommandRegistry } from '../commands/registry.ts';
import type { CommandResult } from '../commands/types.ts';
import type { ConversationApi } from './conversation-api.ts';
import type { ConversationEvents } from './conversation-events.ts';
import type { ConversationRow, ConversationStore, MessageRow, NewMessage } from './conversation-store.ts';
import type { StoredMessageView } from './conversation-bus.ts';
import { toView } from './conversation-events.ts';
import type { Notices } from './notices.ts';
import type { ActorLookup, ReplyScheduler } from './ports.ts';

export interface InboundOptions {
  /** false: store only (a group room where the agent was not addressed). */
  answer?: boolean;
  /** Display name of the sender in a shared room, shown to the model. */
  senderName?: string;
}

export interface InboundResult {
  message: MessageRow;
  /** false: this message was already stored (a retried delivery); nothing else was done. */
  created: boolean;
  command?: { name: string; result: CommandResult; notice: MessageRow };
  /** An answer was queued. */
  scheduled: boolean;
}

const DEFAULT_TITLE = 'New conversation';

function refuseArchived(conv: ConversationRow): void {
  if (conv.archivedAt) throw new MosaicError('conversation_archived', 'this conversation is archived; unarchive it or start a new one', { httpStatus: 409 });
}

/**
 * A message a team member posts (REST, socket) in a conversation shared
 * with their team: stored under the owner like every message of it, and
 * marked with who wrote it, as a Matrix room marks it — so it is answered
 * and paid as theirs. A client's idempotency id is kept apart from the
 * owner's (they share the owner's id space).
 */
function writtenBy(record: NewMessage, writer: Actor, senderName: string | undefined): Partial<NewMessage> {
  return {
    metadata: { ...record.metadata, mosaicUserId: writer.userId, senderName: senderName ?? writer.username },
    ...(record.externalId ? { externalId: `${writer.userId}:${record.externalId}` } : {}),
  };
}

export class InboundService {
  constructor(
    private readonly d: {
      conversations: ConversationStore;
      api: ConversationApi;
      commands: CommandRegistry;
      replies: ReplyScheduler;
      notices: Notices;
      events: ConversationEvents;
      /** The owner of a conversation a team member posted in, and the member, for a command's notice and its speaker. */
      actorFor: ActorLookup;
    },
  ) {}

  /**
   * Stores an inbound message and acts on it: a command is executed and its
   * result stored as a notice; anything else is queued for an answer. A
   * repeat of a stored message (same channel-native id) does nothing.
   */
  async receive(actor: Actor, conversationId: string, msg: ChannelMessage, channel: string, options: InboundOptions = {}): Promise<InboundResult> {
    const command = msg.senderType === 'user' ? this.d.commands.match(msg.content) : null;
    const channelMessageId = typeof msg.metadata.channelMessageId === 'string' ? msg.metadata.channelMessageId : null;
    const editOf = typeof msg.metadata.editOf === 'string' ? msg.metadata.editOf : null;
    const answer = options.answer !== false && !command && !editOf && msg.senderType === 'user';
    const record: NewMessage = {
      id: msg.id,
      role: 'user',
      senderId: msg.senderId,
      senderType: msg.senderType,
      content: msg.content,
      contentType: msg.contentType,
      channel,
      externalId: channelMessageId,
      editOf,
      replyToId: msg.replyToId ?? null,
      threadId: msg.threadId ?? null,
      attachments: msg.attachments ?? [],
      metadata: {
        ...msg.metadata,
        ...(command ? { command: true, commandName: command.def.name } : {}),
        ...(answer ? {} : { noReply: true }),
        ...(options.senderName ? { senderName: options.senderName } : {}),
      },
      createdAt: msg.timestamp,
    };
    // The conversation is read (and checked) by the append itself, under its lock: one statement, not a read before it.
    // Its owner, or a member of the team it is shared with, may post; anyone else gets 404.
    const { message, created, conversation: conv } = await this.d.conversations.appendAsParticipant(actor, conversationId, record, (c) => {
      refuseArchived(c);
      return c.ownerId === actor.userId ? undefined : writtenBy(record, actor, options.senderName);
    });
    if (!created) return { message, created: false, scheduled: false };
    await this.d.events.messageStored(message);
    // A team member's message: what follows is done as the owner, as for their message in the Matrix room (read only then).
    const owner = conv.ownerId === actor.userId ? actor : command || conv.title === DEFAULT_TITLE ? await this.d.actorFor(conv.ownerId) : null;

    if (owner && conv.title === DEFAULT_TITLE && !command && msg.content.trim()) {
      const title = msg.content.trim().split('\n')[0]!.slice(0, 60);
      await this.d.api.update(owner, conversationId, { title: title.length === 60 ? `${title}…` : title }).catch(() => undefined);
    }

    if (command) {
      // The owner disabled since: nothing acts for the conversation (its answers are not given either).
      if (!owner) return { message, created: true, scheduled: false };
      const writer = (message.metadata as { mosaicUserId?: unknown }).mosaicUserId;
      const speakerId = typeof writer === 'string' && writer !== owner.userId ? writer : undefined;
      // The writer's own account, for commands about the person rather than the conversation (their usage, their budget).
      const speaker = speakerId ? (speakerId === actor.userId ? actor : await this.d.actorFor(speakerId)) : null;
      const result = (await this.d.commands.execute(msg.content, { actor: owner, conversationId, channel, messageId: message.id, ...(speakerId ? { speakerId } : {}), ...(speaker ? { speaker } : {}) })) ?? { text: '' };
      const notice = await this.d.notices.store(owner, conversationId, message, result.text, { command: command.def.name, ...(result.data === undefined ? {} : { data: result.data }) });
      return { message, created: true, command: { name: command.def.name, result, notice }, scheduled: false };
    }
    if (answer) {
      await this.d.replies.schedule({ conversationId, userId: conv.ownerId, messageId: message.id });
      return { message, created: true, scheduled: true };
    }
    return { message, created: true, scheduled: false };
  }

  /**
   * Stores a message and waits for what answers it: the reply, a command's
   * notice, or a failure notice. Null when nothing came within the timeout
   * (the answer still arrives later). The reply is taken from its
   * `message:new` event as published (no read of what was just written);
   * the database is read only when the event did not come.
   */
  async receiveAndWait(actor: Actor, conversationId: string, msg: ChannelMessage, channel: string, timeoutMs: number): Promise<{ inbound: InboundResult; reply: StoredMessageView | null }> {
    let resolveReply: (view: StoredMessageView) => void = () => undefined;
    const replied = new Promise<StoredMessageView>((resolve) => (resolveReply = resolve));
    const unsubscribe = await this.d.events.bus.subscribe(conversationId, (event) => {
      if (event.type === 'message:new' && event.message.replyToId === msg.id && (event.message.role === 'system' || event.message.metadata.final === true)) resolveReply(event.message);
    });
    try {
      const inbound = await this.receive(actor, conversationId, msg, channel);
      if (inbound.command) return { inbound, reply: toView(inbound.command.notice) };
      if (!inbound.scheduled) return { inbound, reply: null };
      const deadline = Date.now() + timeoutMs;
      // Pub/sub is the fast path; the database is checked too, so a missed event only costs a poll.
      while (Date.now() < deadline) {
        const view = await Promise.race([replied, new Promise<null>((r) => setTimeout(() => r(null), Math.min(1000, Math.max(0, deadline - Date.now()))))]);
        if (view) return { inbound, reply: withoutPrevSeq(view) };
        const reply = await this.findReply(actor, conversationId, msg.id);
        if (reply) return { inbound, reply: toView(reply) };
      }
      return { inbound, reply: null };
    } finally {
      unsubscribe();
    }
  }

  private async findReply(actor: Actor, conversationId: string, messageId: string): Promise<MessageRow | null> {
    const rows = await this.d.conversations.listMessages(actor, conversationId, { limit: 50 });
    return rows.find((r) => r.replyToId === messageId && (r.role === 'system' || r.metadata.final === true)) ?? null;
  }

  /** Runs a command outside any stored message (a bot DM without a conversation, the REST API). */
  executeCommand(actor: Actor, text: string, conversationId: string | null, channel: string): Promise<CommandResult | null> {
    return this.d.commands.execute(text, { actor, conversationId, channel });
  }
}

/** A live event's view as a stored message reads (prevSeq belongs to live events only). */
function withoutPrevSeq(view: StoredMessageView): StoredMessageView {
  const { prevSeq: _prevSeq, ...rest } = view;
  return rest;
}
