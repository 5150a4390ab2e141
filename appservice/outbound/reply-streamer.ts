/**
 * Conversation events → Matrix. An answer is one message from the agent's
 * ghost: typing while it works, sent with the first streamed text, then
 * edited (m.replace) at most once per `editIntervalMs`; the final edit
 * carries the whole text, a short routing line and `mosaic.routing`. An
 * answer too long for one event continues in further messages, in order
 * (streamed-message.ts). A send the homeserver refuses for good is not
 * retried: the answer goes out as plain text instead, and what happened is
 * recorded with the message (`metadata.matrix.state`), in the log,
 * agent_logs and metrics (send-failures.ts).
 * Notices (command results, failures) are m.notice; messages written on
 * other surfaces are mirrored; archiving tombstones the room, unarchiving
 * reopens it.
 *
 * Every send uses a transaction id derived from the reply's id, so a
 * retried or repeated send is the same event. With several replicas, each
 * answer is streamed by the one that claims it in Valkey.
 */
import { randomUUID } from 'node:crypto';
import type { ConversationBus, ConversationEvent, StoredMessageView } from '../../src/conversations/conversation-bus.ts';
import { replyIdFor } from '../../src/conversations/ids.ts';
import type { ConversationStore } from '../../src/conversations/conversation-store.ts';
import type { Actor } from '../../src/identity/actor.ts';
import type { Logger } from '../../src/logging.ts';
import type { Redis } from '../../src/valkey/client.ts';
import { routingLine, type RoutingSummary } from '../translation/formatting.ts';
import { isPermanentSendError, refusalCode, type MatrixClient } from '../transport/matrix-client.ts';
import type { RoomManager } from '../rooms/room-manager.ts';
import type { RoomStore, RoomWithConversation } from '../rooms/room-store.ts';
import { routingField } from './routing-field.ts';
import { DeliveryRecord } from './delivery-record.ts';
import type { SendFailures } from './send-failures.ts';
import { StreamedMessages, type StreamedMessage } from './streamed-message.ts';

interface Stream {
  replyId: string;
  roomId: string;
  msg: StreamedMessage;
  /** Latest text received; `sentText` is what the room shows. */
  text: string;
  sentText: string;
  lastSentAt: number;
  edits: number;
  timer: NodeJS.Timeout | null;
  /** Sends of one stream run one after another. */
  chain: Promise<void>;
  finished: boolean;
  /** A streamed edit was refused for good (that refusal): no more edits; the final sends plain text. */
  refusal: unknown;
  /** Renews the typing notice while the answer is being written. */
  typing: NodeJS.Timeout | null;
}

export interface ReplyStreamerOptions {
  client: MatrixClient;
  bus: ConversationBus;
  rooms: RoomStore;
  /** Where sent event ids are recorded (acting as the conversation's owner). */
  conversations: ConversationStore;
  ownerActor(userId: string): Promise<Actor | null>;
  /** The Matrix users linked to a Mosaic user: invited when a conversation moves to a new room. */
  matrixUsersOf(userId: string): Promise<string[]>;
  manager: RoomManager;
  valkey: Redis;
  keyPrefix: string;
  editIntervalMs: number;
  /** One typing notice lasts this long; it is renewed at two thirds of it. */
  typingTimeoutMs: number;
  logger: Logger;
  failures: SendFailures;
}


const CLAIM_MS = 10 * 60_000;
/** A stream nobody finished (a crashed job) stops showing typing after this. */
const MAX_TYPING_MS = 15 * 60_000;

export class ReplyStreamer {
  private readonly streams = new Map<string, Stream>();
  private readonly instance = randomUUID();
  private unsubscribe: (() => void) | null = null;
  /** Work in flight, so disconnect() can flush it. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Events of one conversation are handled in order. */
  private readonly queues = new Map<string, Promise<void>>();

  private readonly record: DeliveryRecord;
  private readonly messages: StreamedMessages;

  constructor(private readonly o: ReplyStreamerOptions) {
    this.record = new DeliveryRecord(o.conversations, o.ownerActor, o.failures);
    this.messages = new StreamedMessages(o.client, o.valkey, (...parts) => this.key(...parts));
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.o.bus.subscribe('*', (event) => this.enqueue(event));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const s of this.streams.values()) {
      if (s.timer) clearTimeout(s.timer);
      if (s.typing) clearInterval(s.typing);
    }
    await Promise.allSettled([...this.inFlight]);
  }

  private enqueue(event: ConversationEvent): void {
    const key = event.conversationId;
    const before = this.queues.get(key) ?? Promise.resolve();
    const next = before
      .then(() => this.handle(event))
      .catch((err: unknown) => this.o.logger.error({ channel: 'matrix', event: 'outbound.failed', type: event.type, conversationId: key, err: (err as Error).message }, 'sending to Matrix failed'));
    this.queues.set(key, next);
    this.track(next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  private key(...parts: string[]): string {
    return `${this.o.keyPrefix}:matrix:${parts.join(':')}`;
  }

  private async claim(name: string, ms = CLAIM_MS): Promise<boolean> {
    return (await this.o.valkey.set(this.key('claim', name), this.instance, 'PX', ms, 'NX')) === 'OK';
  }

  /** A failed send gives its claim back, so the recovery sweep (on any replica) can try again. */
  private async release(name: string): Promise<void> {
    await this.o.valkey.del(this.key('claim', name)).catch(() => undefined);
  }

  /**
   * Delivers a stored answer or notice that never reached the room (the
   * recovery sweep). Same path, claims and transaction ids as the live
   * delivery, so it is the same send if that one is still under way.
   */
  redeliver(mapped: RoomWithConversation, m: StoredMessageView): Promise<void> {
    const key = m.conversationId;
    const before = this.queues.get(key) ?? Promise.resolve();
    const next = before.then(() => this.message(mapped, m, false));
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    this.track(settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private async handle(event: ConversationEvent): Promise<void> {
    if (event.type === 'answer:cancel' || event.type === 'exchange:interrupt' || event.type === 'session:info' || event.type === 'answer:final' || event.type === 'typing') return;
    const mapped = await this.o.rooms.byConversation(event.conversationId);
    if (!mapped || mapped.room.encrypted) return;
    switch (event.type) {
      case 'answer:started':
        return this.started(mapped, event.replyId, event.replyTo, event.agentId);
      case 'answer:delta':
        return event.text ? this.delta(event.replyId, event.text) : undefined;
      case 'answer:failed':
      case 'answer:stopped': {
        const s = this.streams.get(event.replyId);
        if (s) await this.stopTyping(s);
        return;
      }
      case 'message:new':
        return this.message(mapped, event.message, true);
      case 'conversation:updated':
        // A deleted conversation's room is redacted first and then closed, by retention (appservice/retention/).
        if (event.change === 'archived') {
          const fresh = await this.o.rooms.byConversation(event.conversationId);
          if (fresh?.archived) await this.o.manager.tombstone(event.conversationId, 'archived');
        }
        if (event.change === 'unarchived') return this.reopen(event.conversationId);
        return;
    }
  }

  /**
   * Unarchived: the conversation gets a usable room again. Every replica
   * hears the event; the one that claims this room's reopening creates
   * the successor, so a person is not invited to two new rooms.
   */
  private async reopen(conversationId: string): Promise<void> {
    const fresh = await this.o.rooms.byConversation(conversationId);
    if (!fresh?.room.tombstonedAt || fresh.archived || fresh.deleted) return;
    const claim = `reopen:${fresh.room.roomId}`;
    if (!(await this.claim(claim))) return;
    try {
      await this.o.manager.reopen(conversationId, await this.o.matrixUsersOf(fresh.ownerId));
    } catch (err) {
      // The owner's `!open` in the bot's DM tries again.
      await this.release(claim);
      throw err;
    }
  }

  /** Relation of the answer to the question: kept in its thread; quoted in rooms with several people. */
  private async relationFor(userMessageId: string): Promise<Record<string, unknown> | null> {
    const brief = await this.o.rooms.messageBrief(userMessageId);
    if (!brief) return null;
    const eventId = brief.channel === 'matrix' ? brief.externalId : null;
    if (brief.threadId) return { rel_type: 'm.thread', event_id: brief.threadId, is_falling_back: true, 'm.in_reply_to': { event_id: eventId ?? brief.threadId } };
    if (eventId && brief.senderName) return { 'm.in_reply_to': { event_id: eventId } };
    return null;
  }

  private async started(mapped: RoomWithConversation, replyId: string, replyTo: string, agentId: string | null): Promise<void> {
    if (this.streams.has(replyId)) return;
    if (!(await this.claim(`stream:${replyId}`))) return;
    const speaker = await this.o.manager.speakerFor(mapped, agentId ?? mapped.agentId);
    const stream: Stream = {
      replyId,
      roomId: mapped.room.roomId,
      msg: await this.messages.open(replyId, mapped.room.roomId, speaker, await this.relationFor(replyTo)),
      text: '',
      sentText: '',
      lastSentAt: 0,
      edits: 0,
      timer: null,
      chain: Promise.resolve(),
      finished: false,
      refusal: null,
      typing: null,
    };
    this.streams.set(replyId, stream);
    await this.startTyping(stream);
  }

  /**
   * Typing until the answer is done, not only for one notice's lifetime: an
   * always-thinking model or a run of tool calls can take minutes before or
   * between words, and a room that stops showing "typing" looks dead.
   */
  private async startTyping(s: Stream): Promise<void> {
    const notify = () => this.o.client.setTyping(s.roomId, s.msg.speaker, true, this.o.typingTimeoutMs).catch((err: unknown) => this.o.logger.debug({ channel: 'matrix', event: 'typing.failed', err: (err as Error).message }, 'typing failed'));
    const since = Date.now();
    s.typing = setInterval(() => {
      if (s.finished || this.streams.get(s.replyId) !== s || Date.now() - since > MAX_TYPING_MS) {
        if (s.typing) clearInterval(s.typing);
        s.typing = null;
        return;
      }
      void notify();
    }, Math.max(50, Math.floor((this.o.typingTimeoutMs * 2) / 3)));
    s.typing.unref();
    await notify();
  }

  private async stopTyping(s: Stream): Promise<void> {
    if (s.typing) clearInterval(s.typing);
    s.typing = null;
    await this.o.client.setTyping(s.roomId, s.msg.speaker, false).catch(() => undefined);
  }

  /** Deltas come numbered and in order (one connection per publisher); the room shows their sum. */
  private async delta(replyId: string, text: string): Promise<void> {
    const s = this.streams.get(replyId);
    if (!s || s.finished || s.refusal !== null) return;
    s.text += text;
    if (!s.text.trim() || s.timer) return;
    const wait = s.msg.firstEventId === null ? 0 : Math.max(0, s.lastSentAt + this.o.editIntervalMs - Date.now());
    if (wait === 0) return this.flush(s);
    s.timer = setTimeout(() => {
      s.timer = null;
      void this.track(this.flush(s));
    }, wait);
  }

  private flush(s: Stream): Promise<void> {
    s.chain = s.chain.then(async () => {
      if (s.finished || s.refusal !== null || s.text === s.sentText) return;
      const text = s.text;
      try {
        await s.msg.show(text, {}, `edit:${++s.edits}`);
      } catch (err) {
        // Refused for good: stop editing; the final delivers the answer as plain text.
        if (isPermanentSendError(err)) s.refusal = err;
        throw err;
      }
      s.sentText = text;
      s.lastSentAt = Date.now();
    });
    return s.chain.catch((err: unknown) => this.o.logger.warn({ channel: 'matrix', event: 'stream.send_failed', replyId: s.replyId, err: (err as Error).message }, 'streamed edit failed'));
  }

  /**
   * Whether another replica streams this answer. That replica finishes it:
   * one that only heard the stored message could send the final while the
   * streamer's first send is still under way, reuse its transaction id and
   * get the streamer's event back, so the final text would never show.
   * A streamer that died is covered by the recovery sweep (`live` false).
   */
  private async streamedElsewhere(replyId: string): Promise<boolean> {
    if (this.streams.has(replyId)) return false;
    const owner = await this.o.valkey.get(this.key('claim', `stream:${replyId}`));
    return owner !== null && owner !== this.instance;
  }

  private async message(mapped: RoomWithConversation, m: StoredMessageView, live: boolean): Promise<void> {
    if (m.role === 'assistant' && m.metadata.final === true) {
      if (live && (await this.streamedElsewhere(m.id))) return;
      return this.finalAnswer(mapped, m, null);
    }
    if (m.role === 'system') {
      // A failure after streamed text ends that message instead of adding another.
      const replyId = m.replyToId ? replyIdFor(m.replyToId) : null;
      const s = replyId ? this.streams.get(replyId) : undefined;
      if (s && (s.msg.firstEventId !== null || s.text)) return this.finalAnswer(mapped, { ...m, id: s.replyId, content: s.text }, m.content, m.id);
      if (s) await this.stopTyping(s);
      if (replyId) this.streams.delete(replyId);
      // Streamed before a restart (the stream is gone from memory, its message is not): end that message.
      const streamedEvent = replyId ? await this.messages.firstEventId(replyId) : null;
      if (replyId && streamedEvent && live && (await this.streamedElsewhere(replyId))) return;
      if (replyId && streamedEvent) return this.finalAnswer(mapped, { ...m, id: replyId, content: '' }, m.content, m.id);
      const userEvent = m.replyToId ? await this.o.rooms.eventIdForMessage(m.replyToId) : null;
      return this.notice(mapped, m, `notice:${m.id}`, m.content, userEvent ? { 'm.in_reply_to': { event_id: userEvent } } : undefined);
    }
    if (m.role === 'user' && m.channel !== 'matrix') {
      const quoted = m.content.split('\n').map((l) => `> ${l}`).join('\n');
      // A team member's message from another surface names them (the room's owner's own need no name).
      const by = (m.metadata as { senderName?: unknown } | null)?.senderName;
      return this.notice(mapped, m, `mirror:${m.id}`, `${typeof by === 'string' ? `${by} wrote` : 'Written'} in ${m.channel}:\n\n${quoted}`);
    }
  }

  /** A notice (or a message mirrored from another surface), once across replicas, with its delivery recorded. */
  private async notice(mapped: RoomWithConversation, m: StoredMessageView, name: string, text: string, relatesTo?: Record<string, unknown>): Promise<void> {
    if (!(await this.claim(name))) return;
    try {
      const speaker = await this.o.manager.speakerFor(mapped);
      const { eventIds, refused } = await this.o.manager.sendText(mapped.room.roomId, speaker, text, name, { msgtype: 'm.notice', ...(relatesTo ? { relatesTo } : {}) });
      await this.record.sent(mapped, [m.id], mapped.agentId, eventIds, refused);
    } catch (err) {
      if (isPermanentSendError(err)) return this.record.failed(mapped, [m.id], mapped.agentId, err);
      await this.release(name);
      throw err;
    }
  }

  /**
   * The last edit: the whole text, the routing line, `mosaic.routing` (on
   * the last part when it took several). With a failure, the streamed text
   * ends with the failure notice (one message, never a second answer);
   * `noticeId` is that notice's stored message. Refused for good, the
   * answer is sent again as plain text without custom fields.
   */
  private async finalAnswer(mapped: RoomWithConversation, m: StoredMessageView, failure: string | null, noticeId?: string): Promise<void> {
    if (!(await this.claim(`final:${m.id}`))) {
      // Another replica (or the recovery sweep) finishes it; drop our half of the stream.
      const gone = this.streams.get(m.id);
      if (gone?.timer) clearTimeout(gone.timer);
      if (gone) gone.finished = true;
      if (gone?.typing) clearInterval(gone.typing);
      this.streams.delete(m.id);
      return;
    }
    const agentId = m.senderType === 'agent' && /^[0-9a-f-]{36}$/.test(m.senderId) ? m.senderId : mapped.agentId;
    let s = this.streams.get(m.id);
    if (s) {
      s.finished = true;
      if (s.timer) clearTimeout(s.timer);
      await s.chain.catch(() => undefined);
    } else {
      // Streamed elsewhere (a replica that died), or not streamed: finish from what Valkey remembers.
      const speaker = await this.o.manager.speakerFor(mapped, agentId);
      const relatesTo = m.replyToId ? await this.relationFor(m.replyToId) : null;
      s = {
        replyId: m.id,
        roomId: mapped.room.roomId,
        msg: await this.messages.open(m.id, mapped.room.roomId, speaker, relatesTo),
        text: m.content,
        sentText: '',
        lastSentAt: 0,
        edits: 0,
        timer: null,
        chain: Promise.resolve(),
        finished: true,
        refusal: null,
        typing: null,
      };
    }
    const ids = noticeId ? [m.id, noticeId] : [m.id];
    const routing = failure === null ? (m.routing as RoutingSummary | null) : null;
    const line = routingLine(routing, m.model);
    const field = failure === null ? routingField(m.routing) : null;
    const text = failure === null ? m.content : `${m.content}${m.content ? '\n\n' : ''}${failure}`;
    try {
      let refusal: unknown = null;
      try {
        await s.msg.show(text, { line, ...(field ? { fields: { 'mosaic.routing': field } } : {}) }, 'final');
      } catch (err) {
        if (!isPermanentSendError(err)) throw err;
        refusal = err;
      }
      if (refusal === null && s.refusal !== null) refusal = s.refusal;
      if (refusal !== null) await this.plainFallback(s, text, line, refusal);
      await this.record.sent(mapped, ids, agentId, s.msg.eventIds, refusal);
      this.o.logger.info({ channel: 'matrix', event: 'answer.sent', roomId: s.roomId, replyId: m.id, eventId: s.msg.firstEventId, parts: s.msg.eventIds.length, edits: s.edits, fallback: refusal !== null }, 'answer sent');
    } catch (err) {
      if (isPermanentSendError(err)) await this.record.failed(mapped, ids, agentId, err);
      else {
        await this.release(`final:${m.id}`);
        throw err;
      }
    } finally {
      this.streams.delete(m.id);
      await this.stopTyping(s);
    }
  }

  /**
   * The answer as plain text, no custom fields: as an edit of the open part;
   * if that edit is refused too, as new messages. Throws when even that is refused.
   */
  private async plainFallback(s: Stream, text: string, line: { plain: string; html: string } | null, refusal: unknown): Promise<void> {
    this.o.logger.warn({ channel: 'matrix', event: 'send.fallback', replyId: s.replyId, errcode: refusalCode(refusal).errcode }, 'the homeserver refused the answer; sending it as plain text');
    try {
      await s.msg.show(text, { line }, 'fallback', true);
    } catch (err) {
      if (!isPermanentSendError(err) || s.msg.state.eventId === null) throw err;
      await s.msg.detachOpenPart();
      await s.msg.show(text, { line }, 'fallback-new', true);
    }
  }
}
