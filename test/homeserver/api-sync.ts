/**
 * `/sync` (initial and incremental, with long-polling) and
 * `/rooms/{roomId}/messages`, honouring history visibility. Stream tokens are
 * `s<n>` / `t<n>`: the position just after global stream position n.
 */
import { MatrixError } from './router.ts';
import type { TestHomeserver } from './server.ts';
import { clientEvent, strippedState, type Room, type StoredEvent } from './rooms.ts';
import { typingUsers } from './api-rooms.ts';
import type { Requester } from './auth.ts';

type Json = Record<string, unknown>;

export function parseToken(token: string | null | undefined): number | undefined {
  if (!token) return undefined;
  const m = /^[st](\d+)$/.exec(token);
  if (!m) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid stream token ${token}`);
  return Number(m[1]);
}

interface EventFilter { limit?: number; types?: string[]; not_types?: string[] }

function filterEvents(events: StoredEvent[], f: EventFilter | undefined): StoredEvent[] {
  if (!f) return events;
  return events.filter((e) => (!f.types || f.types.some((t) => matchType(t, e.type))) && !(f.not_types ?? []).some((t) => matchType(t, e.type)));
}

function matchType(pattern: string, type: string): boolean {
  return pattern.endsWith('*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

export function registerSyncApi(hs: TestHomeserver): void {
  const r = hs.router;
  const store = hs.rooms;

  const syncFilter = (who: Requester, raw: string | null): Json => {
    if (!raw) return {};
    if (raw.trim().startsWith('{')) {
      try { return JSON.parse(raw) as Json; } catch { throw new MatrixError(400, 'M_INVALID_PARAM', 'filter is not valid JSON'); }
    }
    const f = hs.admin.filter(who.userId, raw);
    if (!f) throw new MatrixError(400, 'M_INVALID_PARAM', `Unknown filter ${raw}`);
    return f;
  };

  const joinedRoomSync = (room: Room, who: Requester, since: number | undefined, timelineFilter: EventFilter | undefined): Json | undefined => {
    const limit = timelineFilter?.limit ?? 10;
    const visible = filterEvents(store.visibleEvents(room, who.userId), timelineFilter);
    const fresh = since === undefined ? visible : visible.filter((e) => e.stream > since);
    const typing = typingUsers(room);
    if (since !== undefined && fresh.length === 0 && !typingChangedSince(room, since)) return undefined;
    const timeline = fresh.slice(-limit);
    const limited = fresh.length > timeline.length;
    const inTimeline = new Set(timeline.map((e) => e.event_id));
    // State up to the start of the timeline: everything on an initial sync, the gap's changes on a limited one.
    const state = since === undefined || limited
      ? room.stateEvents().filter((e) => !inTimeline.has(e.event_id) && (since === undefined || e.stream > since))
      : [];
    const first = timeline[0];
    return {
      timeline: {
        events: timeline.map((e) => clientEvent(e, { withRoomId: false, token: who.token })),
        limited,
        prev_batch: `t${first ? first.stream - 1 : store.stream}`,
      },
      state: { events: state.map((e) => clientEvent(e, { withRoomId: false })) },
      ephemeral: { events: [{ type: 'm.typing', content: { user_ids: typing } }] },
      account_data: { events: [] },
      unread_notifications: { highlight_count: 0, notification_count: 0 },
      summary: {
        'm.joined_member_count': room.members('join').length,
        'm.invited_member_count': room.members('invite').length,
      },
    };
  };

  // Typing changes bump the stream without an event; remember when each room's typing last changed.
  const typingStream = new Map<string, number>();
  const lastTyping = new Map<string, string>();
  store.onChange((room, event) => {
    if (event) return;
    const now = JSON.stringify(typingUsers(room));
    if (lastTyping.get(room.roomId) !== now) {
      lastTyping.set(room.roomId, now);
      typingStream.set(room.roomId, store.stream);
    }
  });
  const typingChangedSince = (room: Room, since: number) => (typingStream.get(room.roomId) ?? 0) > since;

  const buildSync = (who: Requester, since: number | undefined, filter: Json) => {
    const roomFilter = (filter.room ?? {}) as { timeline?: EventFilter; include_leave?: boolean };
    const join: Record<string, Json> = {};
    const invite: Record<string, Json> = {};
    const leave: Record<string, Json> = {};
    for (const room of store.rooms.values()) {
      const member = room.getState('m.room.member', who.userId);
      if (!member) continue;
      const m = member.content.membership;
      if (m === 'join') {
        const data = joinedRoomSync(room, who, since, roomFilter.timeline);
        if (data) join[room.roomId] = data;
      } else if (m === 'invite' && (since === undefined || member.stream > since)) {
        invite[room.roomId] = { invite_state: { events: [...strippedState(room), { type: member.type, state_key: member.state_key, content: member.content, sender: member.sender }] } };
      } else if ((m === 'leave' || m === 'ban') && since !== undefined && member.stream > since) {
        const events = store.visibleEvents(room, who.userId).filter((e) => e.stream > since && e.stream <= member.stream);
        leave[room.roomId] = {
          timeline: { events: events.map((e) => clientEvent(e, { withRoomId: false, token: who.token })), limited: false, prev_batch: `t${since}` },
          state: { events: [] },
        };
      }
    }
    const accountData = [...hs.admin.accountData(who.userId).entries()].map(([type, content]) => ({ type, content }));
    return {
      next_batch: `s${store.stream}`,
      rooms: { join, invite, leave, knock: {} },
      account_data: { events: accountData },
      presence: { events: [] },
      to_device: { events: [] },
      device_one_time_keys_count: {},
    };
  };

  r.on('GET', '/_matrix/client/v3/sync', async (ctx) => {
    const who = hs.authenticate(ctx);
    const since = parseToken(ctx.query.get('since'));
    const filter = syncFilter(who, ctx.query.get('filter'));
    const timeout = Math.min(Number(ctx.query.get('timeout') ?? 0), 30_000);
    const deadline = Date.now() + timeout;
    for (;;) {
      const position = store.stream;
      const result = buildSync(who, since, filter);
      const rooms = result.rooms;
      const empty = Object.keys(rooms.join).length + Object.keys(rooms.invite).length + Object.keys(rooms.leave).length === 0;
      const remaining = deadline - Date.now();
      if (since === undefined || !empty || remaining <= 0) return result;
      await store.waitForChange(position, remaining);
      if (store.stream === position) return buildSync(who, since, filter);
    }
  });

  // Events relating to one event (edits, reactions…), newest first. A redacted relation no longer relates (its content is gone), as in Synapse.
  r.on('GET', '/_matrix/client/v1/rooms/{roomId}/relations/{eventId}/{relType}', (ctx) => {
    const who = hs.authenticate(ctx);
    const room = store.room(ctx.params.roomId!);
    const membership = room.membership(who.userId);
    if (membership !== 'join' && membership !== 'leave' && membership !== 'ban') throw new MatrixError(403, 'M_FORBIDDEN', `User ${who.userId} not in room ${room.roomId}`);
    const visible = store.visibleEvents(room, who.userId);
    const parent = visible.find((e) => e.event_id === ctx.params.eventId);
    if (!parent) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found.');
    const dir = ctx.query.get('dir') ?? 'b';
    if (dir !== 'b' && dir !== 'f') throw new MatrixError(400, 'M_INVALID_PARAM', 'dir must be b or f');
    const limit = Math.max(1, Math.min(Number(ctx.query.get('limit') ?? 5), 1000));
    const from = parseToken(ctx.query.get('from'));
    const related = visible.filter((e) => {
      const rel = e.content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown } | undefined;
      return rel?.event_id === parent.event_id && rel.rel_type === ctx.params.relType;
    });
    let chunk = dir === 'b' ? related.filter((e) => from === undefined || e.stream <= from).reverse() : related.filter((e) => from === undefined || e.stream > from);
    const more = chunk.length > limit;
    chunk = chunk.slice(0, limit);
    const last = chunk[chunk.length - 1];
    const out: Json = { chunk: chunk.map((e) => clientEvent(e, { token: who.token })) };
    if (more && last) out.next_batch = `t${dir === 'b' ? last.stream - 1 : last.stream}`;
    return out;
  });

  r.on('GET', '/_matrix/client/v3/rooms/{roomId}/messages', (ctx) => {
    const who = hs.authenticate(ctx);
    const room = store.room(ctx.params.roomId!);
    const membership = room.membership(who.userId);
    if (membership !== 'join' && membership !== 'leave' && membership !== 'ban') throw new MatrixError(403, 'M_FORBIDDEN', `User ${who.userId} not in room ${room.roomId}`);
    const dir = ctx.query.get('dir');
    if (dir !== 'b' && dir !== 'f') throw new MatrixError(400, 'M_INVALID_PARAM', 'dir must be b or f');
    const limit = Math.max(0, Math.min(Number(ctx.query.get('limit') ?? 10), 1000));
    let filter: EventFilter | undefined;
    const rawFilter = ctx.query.get('filter');
    if (rawFilter) {
      try { filter = JSON.parse(rawFilter) as EventFilter; } catch { throw new MatrixError(400, 'M_INVALID_PARAM', 'filter is not valid JSON'); }
    }
    const from = parseToken(ctx.query.get('from')) ?? (dir === 'b' ? store.stream : 0);
    const to = parseToken(ctx.query.get('to'));
    const visible = filterEvents(store.visibleEvents(room, who.userId), filter);
    let chunk: StoredEvent[];
    if (dir === 'b') {
      chunk = visible.filter((e) => e.stream <= from && (to === undefined || e.stream > to)).reverse();
    } else {
      chunk = visible.filter((e) => e.stream > from && (to === undefined || e.stream <= to));
    }
    const more = chunk.length > limit;
    chunk = chunk.slice(0, limit);
    const last = chunk[chunk.length - 1];
    const out: Json = { start: `t${from}`, chunk: chunk.map((e) => clientEvent(e, { token: who.token })) };
    if (more && last) out.end = `t${dir === 'b' ? last.stream - 1 : last.stream}`;
    return out;
  });
}
