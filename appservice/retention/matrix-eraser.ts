/**
 * Retention on the homeserver: the Matrix channel's ChannelEraser. A
 * message leaves Mosaic's store only after this removed it here:
 *
 * - its events (the one it arrived as, or every part it was sent as) and
 *   their edits (m.replace, found through /relations: an edit carries the
 *   full text) are redacted — by their sender when that is one of ours
 *   (an agent may always redact its own events), else by the bot, which
 *   needs the room's `redact` level (Mosaic's rooms give it 100);
 * - the event journal's copies (appservice_events keeps each pushed event's
 *   payload) are forgotten.
 *
 * Redactions use a transaction id derived from the event, so a retried run
 * sends nothing twice; an event already redacted or gone (purged) counts as
 * done. A deleted conversation's rooms are redacted whole, then closed
 * (read-only, with a notice) and left.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../src/logging.ts';
import type { ChannelEraser, EraseOutcome } from '../../src/retention/channel-erasers.ts';
import type { PurgeMessage } from '../../src/retention/retention-store.ts';
import { errorMessage } from '../../src/errors.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import type { RoomManager } from '../rooms/room-manager.ts';
import type { RoomStore } from '../rooms/room-store.ts';
import { isMatrixError, type MatrixClient, type RoomEvent } from '../transport/matrix-client.ts';
import type { SynapsePurge } from './synapse-purge.ts';

export const CHANNEL = 'matrix';
const REASON = 'Removed by Mosaic: past its retention period';
const DELETED_REASON = 'Removed by Mosaic: the conversation was deleted';

/** The same redaction of the same event is the same transaction. */
const redactionTxn = (eventId: string) => `mosaic.redact.${createHash('sha256').update(eventId).digest('base64url').slice(0, 32)}`;

export interface MatrixEraserDeps {
  client: MatrixClient;
  rooms: RoomStore;
  ghosts: Ghosts;
  manager: RoomManager;
  synapse: SynapsePurge | null;
  logger: Logger;
}

export class MatrixEraser implements ChannelEraser {
  readonly channel = CHANNEL;

  constructor(private readonly d: MatrixEraserDeps) {}

  async eraseMessages(batch: PurgeMessage[], signal: AbortSignal): Promise<Map<string, EraseOutcome>> {
    const out = new Map<string, EraseOutcome>();
    for (const m of batch) {
      signal.throwIfAborted();
      try {
        const targets = await this.eventsOf(m);
        let events = 0;
        const forget: string[] = [];
        for (const t of targets) {
          const erased = await this.redactWithEdits(t.roomId, t.eventId, REASON);
          events += erased.redacted;
          forget.push(...erased.eventIds);
        }
        await this.d.rooms.forgetEvents(forget);
        out.set(m.id, { ok: true, events });
      } catch (err) {
        out.set(m.id, { ok: false, error: errorMessage(err) });
      }
    }
    return out;
  }

  async compact(conversationId: string, before: Date): Promise<void> {
    if (!this.d.synapse) return;
    const rooms = await this.d.rooms.roomsToErase(conversationId);
    for (const roomId of rooms?.roomIds ?? []) await this.d.synapse.purge(roomId, before);
  }

  async eraseConversation(conversationId: string, signal: AbortSignal): Promise<{ events: number }> {
    const found = await this.d.rooms.roomsToErase(conversationId);
    if (!found || found.current.erasedAt) return { events: 0 };
    // Events after the deletion are Mosaic's own closing notices: they stay, saying what happened.
    const until = found.deletedAt?.getTime() ?? Date.now();
    let events = 0;
    const failures: string[] = [];
    for (const roomId of found.roomIds) {
      try {
        events += await this.redactRoom(roomId, until, signal);
      } catch (err) {
        failures.push(`${roomId}: ${errorMessage(err)}`);
      }
    }
    // Closed either way: nobody should keep writing into a deleted conversation's room.
    await this.d.manager.tombstone(conversationId, 'deleted');
    if (failures.length) throw new Error(`could not redact every event: ${failures.join('; ')}`);
    await this.d.rooms.forgetRoomEvents(found.roomIds);
    await this.d.rooms.markErased(conversationId);
    const mapped = await this.d.rooms.byConversation(conversationId);
    for (const roomId of found.roomIds) await this.leave(roomId, mapped?.agentId ?? null);
    this.d.logger.info({ channel: 'matrix', event: 'retention.rooms_erased', conversationId, rooms: found.roomIds.length, events }, 'deleted conversation: its rooms were redacted, closed and left');
    return { events };
  }

  /** The Matrix events a stored message is: the one it arrived as, or the ones it was sent as. */
  private async eventsOf(m: PurgeMessage): Promise<Array<{ roomId: string; eventId: string }>> {
    const delivery = (m.metadata.matrix ?? null) as { roomId?: unknown; eventId?: unknown; eventIds?: unknown } | null;
    const sent = delivery ? [delivery.eventId, ...(Array.isArray(delivery.eventIds) ? delivery.eventIds : [])].filter((e): e is string => typeof e === 'string') : [];
    const received = m.channel === CHANNEL && m.externalId ? [m.externalId] : [];
    const ids = [...new Set([...received, ...sent])];
    if (ids.length === 0) return [];
    const out: Array<{ roomId: string; eventId: string }> = [];
    for (const eventId of ids) {
      const roomId =
        (typeof delivery?.roomId === 'string' && sent.includes(eventId) ? delivery.roomId : null) ??
        (await this.d.rooms.roomOfEvent(eventId)) ??
        (await this.d.rooms.byConversation(m.conversationId))?.room.roomId ??
        null;
      if (!roomId) throw new Error(`the room of event ${eventId} is not known, so it cannot be redacted`);
      out.push({ roomId, eventId });
    }
    return out;
  }

  /** Redacts an event and its edits; returns how many redactions were sent and every event id involved. */
  private async redactWithEdits(roomId: string, eventId: string, reason: string): Promise<{ redacted: number; eventIds: string[] }> {
    const bot = this.d.ghosts.botUserId;
    const event = await this.d.client.getEvent(roomId, eventId, bot);
    // Gone already (purged from the homeserver's history): nothing of it is left to redact.
    if (!event) return { redacted: 0, eventIds: [eventId] };
    const edits: RoomEvent[] = [];
    for (let from: string | undefined; ; ) {
      const page = await this.d.client.relations(roomId, eventId, 'm.replace', bot, from);
      edits.push(...page.chunk);
      if (!page.next_batch || page.chunk.length === 0) break;
      from = page.next_batch;
    }
    let redacted = 0;
    for (const e of [...edits, event]) if (await this.redact(roomId, e, reason)) redacted++;
    return { redacted, eventIds: [eventId, ...edits.map((e) => e.event_id)] };
  }

  /** Redacts one event unless it is already; true when a redaction was sent. */
  private async redact(roomId: string, event: RoomEvent, reason: string): Promise<boolean> {
    if (event.unsigned?.redacted_because) return false;
    const bot = this.d.ghosts.botUserId;
    const as = this.d.ghosts.isOurs(event.sender) ? [event.sender, ...(event.sender === bot ? [] : [bot])] : [bot];
    let last: unknown = null;
    for (const user of as) {
      try {
        await this.d.client.redact(roomId, event.event_id, redactionTxn(event.event_id), user, reason);
        return true;
      } catch (err) {
        // Already gone (Synapse purged it; a strict homeserver answers 404): done.
        if (isMatrixError(err, 'M_NOT_FOUND')) return false;
        if (!isMatrixError(err, 'M_FORBIDDEN')) throw err;
        last = err;
      }
    }
    throw last ?? new Error(`cannot redact ${event.event_id}`);
  }

  /** Every message-like event of a room sent up to `until`, redacted (state, and redactions themselves, stay). */
  private async redactRoom(roomId: string, until: number, signal: AbortSignal): Promise<number> {
    const bot = this.d.ghosts.botUserId;
    let redacted = 0;
    for (let from: string | undefined; ; ) {
      signal.throwIfAborted();
      const page = await this.d.client.messages(roomId, bot, { ...(from ? { from } : {}), limit: 100 });
      for (const e of page.chunk) {
        if (e.state_key !== undefined || e.type === 'm.room.redaction' || e.origin_server_ts > until) continue;
        if (await this.redact(roomId, e, DELETED_REASON)) redacted++;
      }
      if (!page.end || page.chunk.length === 0) break;
      from = page.end;
    }
    return redacted;
  }

  private async leave(roomId: string, agentId: string | null): Promise<void> {
    const ghost = agentId ? this.d.ghosts.userIdFor(agentId) : null;
    for (const user of [...(ghost ? [ghost] : []), this.d.ghosts.botUserId]) {
      await this.d.client.leave(roomId, user).catch((err: unknown) =>
        this.d.logger.debug({ channel: 'matrix', event: 'retention.leave_failed', roomId, user, err: errorMessage(err) }, 'could not leave a deleted conversation\'s room'),
      );
    }
  }
}
