/** Mosaic's own notices in a conversation: a command's result, a refusal, a failed answer. */
import type { Actor } from '../identity/actor.ts';
import type { ConversationEvents } from './conversation-events.ts';
import type { ConversationStore, MessageRow } from './conversation-store.ts';
import { noticeIdFor } from './ids.ts';

export class Notices {
  constructor(
    private readonly conversations: ConversationStore,
    private readonly events: ConversationEvents,
  ) {}

  /** Stores the notice answering a message (one per message: its id derives from the message's) and publishes it. */
  async store(actor: Actor, conversationId: string, replyTo: MessageRow, text: string, metadata: Record<string, unknown>): Promise<MessageRow> {
    const { message } = await this.conversations.append(actor, conversationId, {
      id: noticeIdFor(replyTo.id),
      role: 'system',
      senderId: 'mosaic',
      senderType: 'system',
      content: text,
      contentType: 'markdown',
      channel: 'mosaic',
      replyToId: replyTo.id,
      threadId: replyTo.threadId,
      metadata: { ...metadata, final: true },
    });
    await this.events.messageStored(message);
    return message;
  }

  /**
   * A notice during an answer (a refused delegation, say): not a reply to
   * the person's message, so it never counts as its answer; stored once
   * under an id derived from `key`.
   */
  post(actor: Actor, conversationId: string, note: { key: string; text: string; threadId: string | null; metadata: Record<string, unknown> }): Promise<void> {
    return this.storeOnce(actor, conversationId, note, { role: 'system', senderId: 'mosaic', senderType: 'system' });
  }

  /**
   * An agent's message outside an answer (a queued task's result): stored
   * once under an id derived from `key`, and not a reply to any message, so
   * it never stands for the answer to one.
   */
  agentMessage(actor: Actor, conversationId: string, note: { key: string; agentId: string; text: string; threadId: string | null; metadata: Record<string, unknown> }): Promise<void> {
    return this.storeOnce(actor, conversationId, note, { role: 'assistant', senderId: note.agentId, senderType: 'agent' });
  }

  /** A message that answers nothing, stored once under an id derived from `key` and published when new. */
  private async storeOnce(
    actor: Actor,
    conversationId: string,
    note: { key: string; text: string; threadId: string | null; metadata: Record<string, unknown> },
    by: { role: 'system' | 'assistant'; senderId: string; senderType: 'system' | 'agent' },
  ): Promise<void> {
    const { message, created } = await this.conversations.append(actor, conversationId, {
      id: noticeIdFor(note.key),
      ...by,
      content: note.text,
      contentType: 'markdown',
      channel: 'mosaic',
      threadId: note.threadId,
      metadata: note.metadata,
    });
    if (created) await this.events.messageStored(message);
  }
}
