/**
 * Matrix event → ChannelMessage (protocol 1.0.0), per the seed's Matrix
 * table: body, markdown, media as attachments (mxc resolved through the
 * media API), threads, replies (mapped to our ids), edits (a new message
 * pointing at the original).
 */
import { randomUUID } from 'node:crypto';
import type { ChannelAttachment, ChannelMessage, ContentType } from '../../src/protocol/channel-message.ts';
import type { Logger } from '../../src/logging.ts';
import { errorMessage } from '../../src/errors.ts';
import { looksLikeMarkdown, stripReplyFallback } from './formatting.ts';
import type { MatrixClient } from '../transport/matrix-client.ts';
import { parseMxc } from '../transport/mxc.ts';

export interface MatrixEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface Relations {
  /** m.replace target. */
  replaces: string | null;
  /** Thread root. */
  threadRoot: string | null;
  /** m.in_reply_to target (not the thread fallback). */
  inReplyTo: string | null;
}

export function relationsOf(content: Record<string, unknown>): Relations {
  const rel = (content['m.relates_to'] ?? {}) as { rel_type?: unknown; event_id?: unknown; is_falling_back?: unknown; 'm.in_reply_to'?: { event_id?: unknown } };
  const reply = typeof rel['m.in_reply_to']?.event_id === 'string' ? rel['m.in_reply_to'].event_id : null;
  const thread = rel.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : null;
  return {
    replaces: rel.rel_type === 'm.replace' && typeof rel.event_id === 'string' ? rel.event_id : null,
    threadRoot: thread,
    inReplyTo: thread && rel.is_falling_back === true ? null : reply,
  };
}

const MEDIA = new Set(['m.image', 'm.file', 'm.audio', 'm.video']);

export interface TranslateOptions {
  client: MatrixClient;
  logger: Logger;
  /** Media up to this size is embedded as a data: URI (models can see it); larger stays a link. */
  inlineMediaBytes: number;
  /** Our id of a Matrix event in this conversation. */
  messageIdFor(eventId: string): Promise<string | null>;
}

/** Why an event cannot become a message (malformed content). */
export class UntranslatableEvent extends Error {}

export async function toChannelMessage(e: MatrixEvent, opts: TranslateOptions): Promise<ChannelMessage> {
  const rel = relationsOf(e.content);
  // An edit carries its new text in m.new_content; the top-level body is a "* " fallback.
  const source = rel.replaces && typeof e.content['m.new_content'] === 'object' && e.content['m.new_content'] !== null ? (e.content['m.new_content'] as Record<string, unknown>) : e.content;
  const msgtype = source.msgtype;
  const rawBody = source.body;
  if (typeof msgtype !== 'string') throw new UntranslatableEvent('m.room.message without a msgtype');
  if (typeof rawBody !== 'string') throw new UntranslatableEvent('m.room.message without a string body');
  const body = rel.inReplyTo ? stripReplyFallback(rawBody) : rawBody;

  let contentType: ContentType = 'text';
  let content = body;
  const attachments: ChannelAttachment[] = [];
  if (MEDIA.has(msgtype)) {
    const url = source.url;
    if (typeof url !== 'string') throw new UntranslatableEvent(`${msgtype} without a url (encrypted media is not supported)`);
    // Checked before anything is requested with it: only mxc://<server-name>/<media-id> is a content URI.
    if (!parseMxc(url)) throw new UntranslatableEvent(`${msgtype} whose url is not an mxc:// content URI`);
    const info = (source.info ?? {}) as { mimetype?: unknown; size?: unknown };
    const mimeType = typeof info.mimetype === 'string' && /^[\w.+-]+\/[\w.+-]+$/.test(info.mimetype) ? info.mimetype : 'application/octet-stream';
    const name = typeof source.filename === 'string' && source.filename ? source.filename : body || 'attachment';
    attachments.push(await resolveMedia(url, name.slice(0, 255), mimeType, typeof info.size === 'number' ? info.size : undefined, opts));
    contentType = msgtype === 'm.image' ? 'image' : 'file';
    // A caption (body differs from the file name) is text; a bare file name is not.
    content = typeof source.filename === 'string' && source.filename !== body ? body : '';
  } else if (typeof source.formatted_body === 'string' && source.format === 'org.matrix.custom.html') {
    contentType = 'markdown';
  } else if (msgtype === 'm.text' && looksLikeMarkdown(body)) {
    contentType = 'markdown';
  }

  const replyToId = rel.inReplyTo ? await opts.messageIdFor(rel.inReplyTo) : null;
  const editOf = rel.replaces ? await opts.messageIdFor(rel.replaces) : null;
  return {
    id: randomUUID(),
    channelId: e.room_id,
    senderId: e.sender,
    senderType: 'user',
    content,
    contentType,
    metadata: {
      channelMessageId: e.event_id,
      roomId: e.room_id,
      eventType: e.type,
      msgtype,
      ...(e.unsigned ? { unsigned: e.unsigned } : {}),
      ...(rel.replaces ? { replaces: rel.replaces, ...(editOf ? { editOf } : {}) } : {}),
      ...(rel.inReplyTo ? { inReplyToEvent: rel.inReplyTo } : {}),
    },
    ...(rel.threadRoot ? { threadId: rel.threadRoot } : {}),
    ...(replyToId ? { replyToId } : {}),
    ...(attachments.length ? { attachments } : {}),
    timestamp: new Date(e.origin_server_ts),
  };
}

async function resolveMedia(mxc: string, name: string, mimeType: string, size: number | undefined, opts: TranslateOptions): Promise<ChannelAttachment> {
  if (size === undefined || size <= opts.inlineMediaBytes) {
    try {
      const { data, contentType } = await opts.client.downloadMedia(mxc, opts.inlineMediaBytes);
      const type = mimeType !== 'application/octet-stream' ? mimeType : contentType.split(';')[0]!.trim();
      return { name, mimeType: /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : 'application/octet-stream', url: `data:${type};base64,${data.toString('base64')}`, sizeBytes: data.length };
    } catch (err) {
      opts.logger.warn({ channel: 'matrix', event: 'media.download_failed', mxc, err: errorMessage(err) }, 'media could not be downloaded; keeping a link');
    }
  }
  return { name, mimeType, url: opts.client.mediaUrl(mxc) ?? mxc, ...(size !== undefined ? { sizeBytes: size } : {}) };
}

/** Homeservers keep display names to 256 characters; a longer one is not matched as a mention. */
const MAX_DISPLAY_NAME = 256;

/** Whether the message addresses this ghost: a mention (m.mentions, pill or name). */
export function mentions(e: MatrixEvent, userId: string, displayName: string | null): boolean {
  const m = e.content['m.mentions'] as { user_ids?: unknown } | undefined;
  if (Array.isArray(m?.user_ids) && m.user_ids.includes(userId)) return true;
  const body = typeof e.content.body === 'string' ? e.content.body : '';
  const html = typeof e.content.formatted_body === 'string' ? e.content.formatted_body : '';
  if (body.includes(userId) || html.includes(`matrix.to/#/${userId}`) || html.includes(`matrix.to/#/${encodeURIComponent(userId)}`)) return true;
  // A name is matched literally (escaped), so the work is the body's length times the name's: names are bounded like the homeserver bounds them.
  if (displayName && displayName.trim().length >= 2 && displayName.length <= MAX_DISPLAY_NAME) {
    const escaped = displayName.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escaped}($|[^\\p{L}\\p{N}_])`, 'iu').test(body)) return true;
  }
  return false;
}
