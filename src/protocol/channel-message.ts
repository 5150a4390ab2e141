/**
 * The channel protocol, version 1.0.0: the canonical message every surface
 * (Matrix, terminal, web) translates to and from. Adapters keep
 * channel-native ids in `metadata` so round trips need no other state.
 */
import { z } from 'zod';

export const CHANNEL_PROTOCOL_VERSION = '1.0.0';

export type SenderType = 'user' | 'agent' | 'system';
export type ContentType = 'text' | 'markdown' | 'code' | 'image' | 'file';

export interface ChannelAttachment {
  name: string;
  mimeType: string;
  /** A URL (https, mxc resolved to a fetchable URL, file://) or a data: URI. */
  url: string;
  sizeBytes?: number;
}

export interface ChannelMessage {
  /** UUID v4, made by the adapter on receipt or by Mosaic on send. */
  id: string;
  /** Channel-native room/conversation id (Matrix room id, `tui:<conversationId>` …). */
  channelId: string;
  senderId: string;
  senderType: SenderType;
  content: string;
  contentType: ContentType;
  metadata: Record<string, unknown>;
  threadId?: string;
  replyToId?: string;
  attachments?: ChannelAttachment[];
  timestamp: Date;
}

export const channelAttachmentSchema = z.object({
  name: z.string().min(1).max(255),
  mimeType: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'expected a MIME type such as image/png'),
  url: z.string().min(1).max(10_000_000),
  sizeBytes: z.number().int().nonnegative().optional(),
});

export const channelMessageSchema = z.object({
  id: z.uuid(),
  channelId: z.string().min(1),
  senderId: z.string().min(1),
  senderType: z.enum(['user', 'agent', 'system']),
  content: z.string().max(200_000),
  contentType: z.enum(['text', 'markdown', 'code', 'image', 'file']),
  metadata: z.record(z.string(), z.unknown()),
  threadId: z.string().optional(),
  replyToId: z.string().optional(),
  attachments: z.array(channelAttachmentSchema).max(20).optional(),
  timestamp: z.coerce.date(),
});

/** JSON form for sockets and REST: the timestamp as an ISO string. */
export interface ChannelMessageJson extends Omit<ChannelMessage, 'timestamp'> {
  timestamp: string;
}

export function toJson(msg: ChannelMessage): ChannelMessageJson {
  return { ...msg, timestamp: msg.timestamp.toISOString() };
}

export function fromJson(value: unknown): ChannelMessage {
  return channelMessageSchema.parse(value) as ChannelMessage;
}
