/**
 * The live protocol (version 1.0.0): JSON text frames on the socket, the
 * same objects as `data:` of the event stream. Conversation events are
 * encoded once per replica (EncodedFrame) and the same bytes go to every
 * socket that follows the conversation.
 *
 * Client frames are checked like REST bodies: a strict zod schema per
 * type, the message fields shared with POST …/messages.
 */
import { z } from 'zod';
import type { AnswerStartedEvent, ConversationEvent, LiveAnswer, StoredMessageView } from '../conversations/conversation-bus.ts';
import { CHANNEL_PROTOCOL_VERSION, type ChannelMessageJson } from '../protocol/channel-message.ts';
import { EMPTY_MESSAGE, messageFields, saysSomething } from '../http/message-intake.ts';
import { API_LIMITS, inspectJson, textProblem } from '../protocol/json-intake.ts';

export const LIVE_PROTOCOL_VERSION = CHANNEL_PROTOCOL_VERSION;

// ---- client → server -----------------------------------------------------------------------

const frameId = z.string().min(1).max(64).optional().describe('Echoed in the ack or error that answers this frame.');
const conversationId = z.uuid({ message: 'expected a conversation id (uuid)' });

export const clientFrameSchemas = {
  subscribe: z.object({ type: z.literal('subscribe'), id: frameId, conversationId, afterSeq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }).strict(),
  unsubscribe: z.object({ type: z.literal('unsubscribe'), id: frameId, conversationId }).strict(),
  send: messageFields.extend({ type: z.literal('send'), id: frameId, conversationId }).strict().refine(saysSomething, EMPTY_MESSAGE),
  stop: z.object({ type: z.literal('stop'), id: frameId, conversationId }).strict(),
  typing: z.object({ type: z.literal('typing'), id: frameId, conversationId, typing: z.boolean() }).strict(),
  ping: z.object({ type: z.literal('ping'), id: frameId }).strict(),
} as const;

export type ClientFrameType = keyof typeof clientFrameSchemas;
export type ClientFrame = { [K in ClientFrameType]: z.infer<(typeof clientFrameSchemas)[K]> }[ClientFrameType];
export const CLIENT_FRAME_TYPES = Object.keys(clientFrameSchemas) as ClientFrameType[];

export interface FrameProblem {
  /** The client frame's id when it could be read, so the error answers it. */
  id: string | null;
  code: 'invalid_json' | 'invalid_frame' | 'unknown_frame';
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Reads one text frame: JSON, then the intake walk every REST body passes
 * (NUL, lone surrogates, nesting, value count), then the frame's schema.
 * This is the one entry point of client frames.
 */
export function parseClientFrame(text: string): { frame: ClientFrame } | { problem: FrameProblem } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: { id: null, code: 'invalid_json', message: 'a frame must be one JSON object' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: { id: null, code: 'invalid_frame', message: 'a frame must be a JSON object with a "type"' } };
  const raw = value as Record<string, unknown>;
  const id = typeof raw.id === 'string' && raw.id.length > 0 && raw.id.length <= 64 && textProblem(raw.id) === null ? raw.id : null;
  const unfit = inspectJson(value, API_LIMITS, 'frame');
  if (unfit) return { problem: { id, code: 'invalid_frame', message: unfit.message, details: { field: unfit.path, reason: unfit.reason } } };
  const type = raw.type;
  if (typeof type !== 'string' || !(CLIENT_FRAME_TYPES as string[]).includes(type)) {
    return { problem: { id, code: 'unknown_frame', message: `unknown frame type ${JSON.stringify(typeof type === 'string' ? type.slice(0, 40) : type ?? null)}; expected one of ${CLIENT_FRAME_TYPES.join(', ')}` } };
  }
  const result = clientFrameSchemas[type as ClientFrameType].safeParse(raw);
  if (result.success) return { frame: result.data as ClientFrame };
  const problems = result.error.issues.map((i) => `${[type, ...i.path.map(String)].join('.')}: ${i.message}`);
  return { problem: { id, code: 'invalid_frame', message: problems.join('; '), details: { problems } } };
}

// ---- server → client -----------------------------------------------------------------------

/** A frame ready to send: its JSON, the same bytes for every socket, and what the event stream needs. */
export interface EncodedFrame {
  type: string;
  json: string;
  /** For message frames: the message's seq, the event stream's `id:`. */
  seq?: number;
  /** The whole WebSocket text frame (RFC 6455, as a server sends it: unmasked), built once, on first use, and shared. */
  wire(): Buffer;
}

export function encodeFrame<F extends { type: string }>(frame: F, seq?: number): EncodedFrame {
  const json = JSON.stringify(frame);
  let wire: Buffer | null = null;
  return { type: frame.type, json, ...(seq === undefined ? {} : { seq }), wire: () => (wire ??= webSocketTextFrame(json)) };
}

/** FIN + text opcode, the payload length in 7, 16 or 64 bits, no mask (RFC 6455 §5.2). */
function webSocketTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + length);
  out[0] = 0x81;
  if (length < 126) out[1] = length;
  else if (length < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  out.write(text, head, 'utf8');
  return out;
}

/** A stored message as ChannelMessage JSON: what the conversation knows of it goes into metadata. */
export function toChannelMessageJson(m: StoredMessageView): ChannelMessageJson {
  return {
    id: m.id,
    channelId: m.conversationId,
    senderId: m.senderId,
    senderType: m.senderType,
    content: m.content,
    contentType: m.contentType,
    metadata: {
      ...m.metadata,
      role: m.role,
      channel: m.channel,
      ...(m.externalId ? { channelMessageId: m.externalId } : {}),
      ...(m.editOf ? { editOf: m.editOf } : {}),
      ...(m.provider ? { provider: m.provider, model: m.model } : {}),
      ...(m.routing ? { routing: m.routing } : {}),
      ...(m.usage ? { usage: m.usage } : {}),
    },
    ...(m.threadId ? { threadId: m.threadId } : {}),
    ...(m.replyToId ? { replyToId: m.replyToId } : {}),
    ...(m.attachments.length ? { attachments: m.attachments } : {}),
    timestamp: m.createdAt,
  };
}

export function messageFrame(m: StoredMessageView): EncodedFrame {
  return encodeFrame({ type: 'message:new', conversationId: m.conversationId, seq: m.seq, ...(m.prevSeq !== undefined ? { prevSeq: m.prevSeq } : {}), message: toChannelMessageJson(m) }, m.seq);
}

/** An answer's start; `so far` is what a surface opening mid-answer has missed of it. */
export function answerStartedFrame(e: AnswerStartedEvent, soFar: Pick<LiveAnswer, 'seq' | 'text' | 'thinking'> = { seq: e.seq, text: '', thinking: '' }): EncodedFrame {
  const { type, conversationId, replyId, replyTo, agentId, provider, model, routing, retry } = e;
  return encodeFrame({ type, conversationId, replyId, replyTo, agentId, provider, model, routing, seq: soFar.seq, text: soFar.text, thinking: soFar.thinking, ...(retry ? { retry } : {}) });
}

/** The frame of a bus event for live surfaces; null for events that stay inside Mosaic. */
export function eventFrame(event: ConversationEvent): EncodedFrame | null {
  switch (event.type) {
    case 'message:new':
      return messageFrame(event.message);
    case 'answer:started':
      return answerStartedFrame(event);
    case 'answer:cancel':
      return null;
    case 'typing':
      return encodeFrame({ type: 'typing', conversationId: event.conversationId, sessionId: event.sessionId, typing: event.typing });
    default:
      return encodeFrame(event);
  }
}

export const helloFrame = (hello: { sessionId: string; user: { id: string; username: string }; heartbeatMs: number; limits: Record<string, number> }) =>
  encodeFrame({ type: 'hello', protocol: LIVE_PROTOCOL_VERSION, ...hello });

export const ackFrame = (id: string | null, of: ClientFrameType, result: Record<string, unknown> = {}) => encodeFrame({ type: 'ack', id, for: of, result });

export const errorFrame = (id: string | null, code: string, message: string, details?: Record<string, unknown>) =>
  encodeFrame({ type: 'error', id, error: { code, message, ...(details ? { details } : {}) } });
