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
 * (read-only, with a notice) and left. Agent rooms (no conversation rows)
 * have their events past the `agent` policy redacted, room by room.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../src/logging.ts';
import type { ChannelEraser, ChannelOnlyKind, EraseOutcome, RoomPurgeOutcome } from '../../src/retention/channel-erasers.ts';
import type { PurgeMessage } from '../../src/retention/retention-store.ts';
import { errorMessage } from '../../src/errors.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import type { AgentRoomRow, AgentRoomStore } from '../agent-rooms/agent-room-store.ts';
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
  /** The agent rooms the appservice recorded (the `agent` policy's rooms). */
  agentRooms: Pick<AgentRoomStore, 'list' | 'markRedactedBefore'>;
  logger: Logger;
}

const PAGE = 100;

export class MatrixEraser implements ChannelEraser {
  readonly channel = CHANNEL;

  constructor(private readonly d: MatrixEraserDeps) {}

  async eraseMessages(batch: PurgeMessage[], signal: AbortSignal): Promise<Map<string, EraseOutcome>> {
    const out = new Map<string, EraseOutcome>();
    for (const m of batch) {
      signal.throwIfAborted();
      try {
        const targets = await this.eventsOf(m);
        const users = await this.ourUsers(m.conversationId);
        let events = 0;
        const forget: string[] = [];
        for (const t of targets) {
          const erased = await this.redactWithEdits(t.roomId, t.eventId, REASON, users);
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
    const users = await this.ourUsers(conversationId);
    let events = 0;
    const failures: string[] = [];
    for (const roomId of found.roomIds) {
      try {
        events += await this.redactRoom(roomId, until, signal, users);
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

  async purgeRooms(kind: ChannelOnlyKind, before: Date, signal: AbortSignal, done: (room: RoomPurgeOutcome) => Promise<void>): Promise<void> {
    if (kind !== 'agent') return;
    for (let after: string | null = null; ; ) {
      const page = await this.d.agentRooms.list(after, PAGE);
      for (const room of page) {
        signal.throwIfAborted();
        await done(await this.purgeAgentRoom(room, before, signal));
      }
      if (page.length < PAGE) break;
      after = page.at(-1)!.roomId;
    }
  }

  /**
   * Redacts an agent room's events sent before `before` (state and
   * redactions stay), paging back from the newest and stopping where an
   * earlier run left everything redacted. An event the homeserver refused
   * is counted and skipped; the room's mark only moves when none was, so
   * the next run comes back for it.
   */
  private async purgeAgentRoom(room: AgentRoomRow, before: Date, signal: AbortSignal): Promise<RoomPurgeOutcome> {
    const { roomId } = room;
    // The bot created the room and holds its top power level: it reads it, and redacts what no ghost of ours sent.
    const users = [this.d.ghosts.botUserId];
    const stopAt = room.redactedBefore?.getTime() ?? -Infinity;
    let events = 0;
    const failures: string[] = [];
    const forget: string[] = [];
    try {
      for (let from: string | undefined; ; ) {
        signal.throwIfAborted();
        const page = await this.d.client.messages(roomId, this.d.ghosts.botUserId, { ...(from ? { from } : {}), limit: PAGE });
        let reachedMark = false;
        for (const e of page.chunk) {
          if (e.origin_server_ts < stopAt) {
            reachedMark = true;
            break;
          }
          if (e.state_key !== undefined || e.type === 'm.room.redaction' || e.origin_server_ts >= before.getTime()) continue;
          try {
            if (await this.redact(roomId, e, REASON, users)) events++;
            forget.push(e.event_id);
          } catch (err) {
            failures.push(`${e.event_id}: ${errorMessage(err)}`);
          }
        }
        if (reachedMark || !page.end || page.chunk.length === 0) break;
        from = page.end;
      }
    } catch (err) {
      // The room could not be read (or the run was stopped): nothing past this point is known, so the mark stays.
      if (signal.aborted) throw err;
      failures.push(`${roomId}: ${errorMessage(err)}`);
    }
    await this.d.rooms.forgetEvents(forget);
    if (failures.length === 0) {
      await this.d.agentRooms.markRedactedBefore(roomId, before);
      if (events > 0 && this.d.synapse) {
        await this.d.synapse.purge(roomId, before).catch((err: unknown) =>
          this.d.logger.warn({ channel: 'matrix', event: 'retention.compact_failed', roomId, err: errorMessage(err) }, 'could not purge the agent room\'s history on Synapse (its events are redacted; retried when the next run redacts more)'),
        );
      }
    }
    return { roomId, events, failed: failures.length, ...(failures.length ? { error: failures[0] } : {}) };
  }

  /**
   * Our users that may be in the conversation's rooms, in the order they
   * are asked to read and redact: the bot (it has the room's top level in
   * rooms Mosaic created), then the agent's ghost (the only one of ours in
   * a room a person created and invited it to).
   */
  private async ourUsers(conversationId: string): Promise<string[]> {
    const mapped = await this.d.rooms.byConversation(conversationId);
    return [this.d.ghosts.botUserId, ...(mapped?.agentId ? [this.d.ghosts.userIdFor(mapped.agentId)] : [])];
  }

  /** Runs a read as the first of `users` allowed to (a room the bot is not in is read by the ghost). */
  private async asMember<T>(users: string[], read: (user: string) => Promise<T>): Promise<T> {
    let last: unknown = null;
    for (const user of users) {
      try {
        return await read(user);
      } catch (err) {
        if (!isMatrixError(err, 'M_FORBIDDEN')) throw err;
        last = err;
      }
    }
    throw last ?? new Error('none of Mosaic\'s users can read this room');
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
  private async redactWithEdits(roomId: string, eventId: string, reason: string, users: string[]): Promise<{ redacted: number; eventIds: string[] }> {
    const event = await this.asMember(users, (user) => this.d.client.getEvent(roomId, eventId, user));
    // Gone already (purged from the homeserver's history): nothing of it is left to redact.
    if (!event) return { redacted: 0, eventIds: [eventId] };
    const edits: RoomEvent[] = [];
    for (let from: string | undefined; ; ) {
      const page = await this.asMember(users, (user) => this.d.client.relations(roomId, eventId, 'm.replace', user, from));
      edits.push(...page.chunk);
      if (!page.next_batch || page.chunk.length === 0) break;
      from = page.next_batch;
    }
    let redacted = 0;
    for (const e of [...edits, event]) if (await this.redact(roomId, e, reason, users)) redacted++;
    return { redacted, eventIds: [eventId, ...edits.map((e) => e.event_id)] };
  }

  /**
   * Redacts one event unless it is already; true when a redaction was sent.
   * Its sender first when that is one of ours (anyone may redact their own
   * events), then our other users (another's event needs the room's
   * `redact` level). When none may, the error says what to change.
   */
  private async redact(roomId: string, event: RoomEvent, reason: string, users: string[]): Promise<boolean> {
    if (event.unsigned?.redacted_because) return false;
    const order = [...new Set([...(this.d.ghosts.isOurs(event.sender) ? [event.sender] : []), ...users])];
    for (const user of order) {
      try {
        await this.d.client.redact(roomId, event.event_id, redactionTxn(event.event_id), user, reason);
        return true;
      } catch (err) {
        // Already gone (Synapse purged it; a strict homeserver answers 404): done.
        if (isMatrixError(err, 'M_NOT_FOUND')) return false;
        if (!isMatrixError(err, 'M_FORBIDDEN')) throw err;
      }
    }
    throw new Error(
      `none of Mosaic's users (${order.join(', ')}) may redact ${event.event_id} from ${event.sender} in ${roomId}: give one of them the room's "redact" power level (Mosaic's own rooms give the bot 100); until then the message is kept in Mosaic too`,
    );
  }

  /** Every message-like event of a room sent up to `until`, redacted (state, and redactions themselves, stay). */
  private async redactRoom(roomId: string, until: number, signal: AbortSignal, users: string[]): Promise<number> {
    let redacted = 0;
    for (let from: string | undefined; ; ) {
      signal.throwIfAborted();
      const page = await this.asMember(users, (user) => this.d.client.messages(roomId, user, { ...(from ? { from } : {}), limit: 100 }));
      for (const e of page.chunk) {
        if (e.state_key !== undefined || e.type === 'm.room.redaction' || e.origin_server_ts > until) continue;
        if (await this.redact(roomId, e, DELETED_REASON, users)) redacted++;
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
