/**
 * A message a person writes through the API — a REST POST or a socket
 * `send` frame: one schema, one translation to a ChannelMessage, one
 * answer shape. Both paths store it the same way (channel "api", so a
 * clientMessageId is one message whichever path repeats it).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Actor } from '../identity/actor.ts';
import type { InboundResult } from '../conversations/inbound-service.ts';
import { channelAttachmentSchema, type ChannelMessage } from '../protocol/channel-message.ts';

export const API_CHANNEL = 'api';

/** The fields of a message; `messageBody` adds the rule that it says something. */
export const messageFields = z.object({
  content: z.string().max(100_000),
  contentType: z.enum(['text', 'markdown', 'code', 'image', 'file']).default('text'),
  attachments: z.array(channelAttachmentSchema).max(10).optional(),
  replyToId: z.uuid().optional(),
  /** Makes a retried send idempotent. */
  clientMessageId: z.string().min(1).max(200).optional(),
});

type MessageFields = z.infer<typeof messageFields>;

export const saysSomething = (b: Pick<MessageFields, 'content' | 'attachments'>) => b.content.trim().length > 0 || (b.attachments?.length ?? 0) > 0;
export const EMPTY_MESSAGE = { message: 'a message needs content or an attachment', path: ['content'] };

export const messageBody = messageFields.strict().refine(saysSomething, EMPTY_MESSAGE);

export function toChannelMessage(actor: Actor, conversationId: string, body: MessageFields): ChannelMessage {
  return {
    id: randomUUID(),
    channelId: `api:${conversationId}`,
    senderId: actor.userId,
    senderType: 'user',
    content: body.content,
    contentType: body.contentType,
    metadata: { conversationId, ...(body.clientMessageId ? { channelMessageId: body.clientMessageId } : {}) },
    ...(body.replyToId ? { replyToId: body.replyToId } : {}),
    ...(body.attachments ? { attachments: body.attachments } : {}),
    timestamp: new Date(),
  };
}

/** What the sender learns at once: the stored id, whether it was a repeat, a command's result. */
export function intakeResult(inbound: InboundResult) {
  return {
    messageId: inbound.message.id,
    duplicate: !inbound.created,
    scheduled: inbound.scheduled,
    command: inbound.command ? { name: inbound.command.name, text: inbound.command.result.text, data: inbound.command.result.data ?? null } : null,
  };
}
