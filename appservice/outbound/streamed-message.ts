/**
 * One answer as it appears in a room: a message that is edited as the text
 * grows, and — when the text outgrows what one event can hold — closed at a
 * clean break and continued in a new message, as many times as needed
 * (answer-parts.ts decides where). Which parts exist is saved after each
 * change (Valkey), so another replica or a restarted one finishes the same
 * messages. Transaction ids derive from the reply id, the part and the
 * step, so a repeated send is the same event.
 */
import type { Redis } from '../../src/valkey/client.ts';
import type { MatrixClient } from '../transport/matrix-client.ts';
import { txnIdFor } from '../rooms/room-manager.ts';
import { cutPoint, editContent, messageContent, openFenceAt, partContent, partFits, plainContent, type PartExtras } from './answer-parts.ts';

export interface StreamedMessageState {
  /** Parts already closed: their event and where their text ends. */
  closed: Array<{ eventId: string; end: number }>;
  /** The open (last) part's event, once sent. */
  eventId: string | null;
  /** Where the open part's text starts. */
  start: number;
}

export interface StreamedMessageDeps {
  client: MatrixClient;
  replyId: string;
  roomId: string;
  speaker: string;
  /** Relation of the first part to the question (quote, thread). */
  relatesTo: Record<string, unknown> | null;
  save(state: StreamedMessageState): Promise<void>;
}

export const emptyState = (): StreamedMessageState => ({ closed: [], eventId: null, start: 0 });

export class StreamedMessage {
  constructor(
    private readonly d: StreamedMessageDeps,
    readonly state: StreamedMessageState = emptyState(),
  ) {}

  get speaker(): string {
    return this.d.speaker;
  }

  /** The answer's first event (what replies and records point at). */
  get firstEventId(): string | null {
    return this.state.closed[0]?.eventId ?? this.state.eventId;
  }

  get eventIds(): string[] {
    return [...this.state.closed.map((p) => p.eventId), ...(this.state.eventId ? [this.state.eventId] : [])];
  }

  private txn(what: string): string {
    const index = this.state.closed.length;
    return txnIdFor(index === 0 ? `${this.d.replyId}:${what}` : `${this.d.replyId}:part:${index + 1}:${what}`);
  }

  /** Sends the open part as a new message, or edits it to `content`. */
  private async put(content: ReturnType<typeof partContent>, fields: Record<string, unknown>, what: string, plain: boolean): Promise<void> {
    const s = this.state;
    if (s.eventId === null) {
      const rel = s.closed.length === 0 && !plain ? this.d.relatesTo : null;
      // A fallback message is a new event, not the refused one again.
      const name = plain ? `${what}:message` : 'message';
      s.eventId = await this.d.client.sendEvent(this.d.roomId, 'm.room.message', this.txn(name), messageContent(content, fields, rel), this.d.speaker);
      await this.d.save(s);
      return;
    }
    await this.d.client.sendEvent(this.d.roomId, 'm.room.message', this.txn(what), editContent(s.eventId, content, fields), this.d.speaker);
  }

  /**
   * Makes the room show `text` (the whole answer so far): the open part is
   * sent or edited; whatever does not fit in it closes it and goes on in
   * new parts. `extras` (routing line and field) go on the last part.
   * `plain`: no HTML, no custom fields (the fallback after a refusal).
   */
  async show(text: string, extras: PartExtras, what: string, plain = false): Promise<void> {
    const s = this.state;
    const build = plain ? (t: string, _f: string | null, e: PartExtras) => plainContent(t + (e.line?.plain ?? '')) : partContent;
    const fields = plain ? {} : (extras.fields ?? {});
    const last: PartExtras = plain ? { line: extras.line ?? null } : extras;
    // Less text than was already shown (a failure line after a restart, when the streamed text is not known): it goes in the open part.
    if (s.start > text.length) s.start = 0;
    for (;;) {
      const start = s.start;
      const fence = plain ? null : openFenceAt(text, start);
      const rest = text.slice(start);
      const rel = s.closed.length === 0 && s.eventId === null && !plain ? this.d.relatesTo : null;
      if (partFits(rest, fence, last, rel, build)) return this.put(build(rest, fence, last), fields, what, plain);
      const cut = cutPoint(rest, (prefix) => partFits(prefix, fence, {}, rel, build));
      await this.put(build(rest.slice(0, cut), fence, {}), {}, plain ? `${what}:close` : 'close', plain);
      s.closed.push({ eventId: s.eventId!, end: start + cut });
      s.start = start + cut;
      s.eventId = null;
      await this.d.save(s);
    }
  }

  /** The open part is abandoned (its edit was refused): what follows goes in a new message. */
  async detachOpenPart(): Promise<void> {
    this.state.eventId = null;
    await this.d.save(this.state);
  }
}

const STATE_TTL_S = 7 * 24 * 3600;

/** Streamed messages with their state kept in Valkey (`event:<replyId>`: the first event; `parts:<replyId>`: the parts). */
export class StreamedMessages {
  constructor(
    private readonly client: MatrixClient,
    private readonly valkey: Redis,
    private readonly key: (...parts: string[]) => string,
  ) {}

  /** The answer's first event, if whoever streamed it sent one. */
  firstEventId(replyId: string): Promise<string | null> {
    return this.valkey.get(this.key('event', replyId));
  }

  /** The answer's message as whoever streamed it left it (this or another replica, before a restart), or a new one. */
  async open(replyId: string, roomId: string, speaker: string, relatesTo: Record<string, unknown> | null): Promise<StreamedMessage> {
    const raw = await this.valkey.get(this.key('parts', replyId));
    const state = raw ? (JSON.parse(raw) as StreamedMessageState) : { ...emptyState(), eventId: await this.firstEventId(replyId) };
    const save = async (st: StreamedMessageState) => {
      const first = st.closed[0]?.eventId ?? st.eventId;
      if (first) await this.valkey.set(this.key('event', replyId), first, 'EX', STATE_TTL_S);
      await this.valkey.set(this.key('parts', replyId), JSON.stringify(st), 'EX', STATE_TTL_S);
    };
    return new StreamedMessage({ client: this.client, replyId, roomId, speaker, relatesTo, save }, state);
  }
}
