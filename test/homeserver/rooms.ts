/**
 * Rooms, their timelines and state, and the authorisation rules a real
 * homeserver applies (room version 10, simplified to one server): membership
 * transitions, power levels, redactions, history visibility.
 */
import { randomBytes } from 'node:crypto';
import { MatrixError, forbidden, notFound } from './router.ts';
import { checkNewEvent } from './canonical-json.ts';

export interface MatrixEvent {
  event_id: string;
  type: string;
  sender: string;
  room_id: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

export interface StoredEvent extends MatrixEvent {
  /** Global order of everything that happened on this server. */
  stream: number;
  /** Who sent it with which transaction id (for `unsigned.transaction_id`). */
  txn?: { token: string; txnId: string };
}

export type Membership = 'join' | 'invite' | 'leave' | 'ban' | 'knock';

export const ROOM_VERSION = '10';

const stateKey = (type: string, key: string) => `${type}\u0000${key}`;

export class Room {
  readonly events: StoredEvent[] = [];
  readonly state = new Map<string, StoredEvent>();
  /** userId → typing expiry (ms since epoch). */
  readonly typing = new Map<string, number>();
  /** In the public room directory (createRoom with `visibility: public`). */
  published = false;

  constructor(readonly roomId: string, readonly creator: string) {}

  getState(type: string, key = ''): StoredEvent | undefined {
    return this.state.get(stateKey(type, key));
  }

  stateEvents(): StoredEvent[] {
    return [...this.state.values()];
  }

  membership(userId: string): Membership | undefined {
    return this.getState('m.room.member', userId)?.content.membership as Membership | undefined;
  }

  members(membership: Membership = 'join'): string[] {
    return this.stateEvents().filter((e) => e.type === 'm.room.member' && e.content.membership === membership).map((e) => e.state_key!);
  }

  powerLevels(): Record<string, unknown> {
    return this.getState('m.room.power_levels')?.content ?? { users: { [this.creator]: 100 } };
  }

  userLevel(userId: string): number {
    const pl = this.powerLevels();
    const users = (pl.users ?? {}) as Record<string, number>;
    return users[userId] ?? (pl.users_default as number | undefined) ?? 0;
  }

  requiredLevel(type: string, isState: boolean): number {
    const pl = this.powerLevels();
    const events = (pl.events ?? {}) as Record<string, number>;
    if (events[type] !== undefined) return events[type]!;
    if (!this.getState('m.room.power_levels')) return isState ? 0 : 0;
    return isState ? ((pl.state_default as number | undefined) ?? 50) : ((pl.events_default as number | undefined) ?? 0);
  }

  actionLevel(action: 'invite' | 'kick' | 'ban' | 'redact'): number {
    const pl = this.powerLevels();
    const value = pl[action] as number | undefined;
    return value ?? (action === 'invite' ? 0 : 50);
  }

  joinRule(): string {
    return (this.getState('m.room.join_rules')?.content.join_rule as string | undefined) ?? 'invite';
  }

  historyVisibility(): string {
    return (this.getState('m.room.history_visibility')?.content.history_visibility as string | undefined) ?? 'shared';
  }
}

export type RoomListener = (room: Room, event: StoredEvent | undefined) => void;

export interface NewEvent {
  type: string;
  sender: string;
  content: Record<string, unknown>;
  state_key?: string;
  redacts?: string;
  txn?: { token: string; txnId: string };
}

const REDACTION_KEEP: Record<string, string[]> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'],
  'm.room.history_visibility': ['history_visibility'],
};

export class RoomStore {
  readonly rooms = new Map<string, Room>();
  readonly aliases = new Map<string, { roomId: string; creator: string }>();
  private readonly byId = new Map<string, { room: Room; event: StoredEvent }>();
  /** `${token}|${userId}|${txnId}` → event id, for idempotent sends. */
  private readonly txns = new Map<string, string>();
  private readonly listeners: RoomListener[] = [];
  private waiters: (() => void)[] = [];
  stream = 0;

  constructor(readonly serverName: string) {}

  onChange(listener: RoomListener): void {
    this.listeners.push(listener);
  }

  private notify(room: Room, event: StoredEvent | undefined): void {
    for (const l of this.listeners) l(room, event);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when anything new happens after stream position `since`, or after `timeoutMs`. */
  waitForChange(since: number, timeoutMs: number): Promise<void> {
    if (this.stream > since || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiters = this.waiters.filter((w) => w !== done); resolve(); }, timeoutMs);
      const done = () => { clearTimeout(timer); resolve(); };
      this.waiters.push(done);
    });
  }

  /** Releases every pending /sync long-poll (the server is stopping). */
  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Wakes /sync long-polls for a change that is not an event (typing). */
  bump(room: Room): void {
    this.stream++;
    this.notify(room, undefined);
  }

  newRoomId(): string {
    return `!${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}:${this.serverName}`;
  }

  room(roomId: string): Room {
    const room = this.rooms.get(roomId);
    if (!room) throw notFound(`Unknown room ${roomId}`);
    return room;
  }

  createRoomShell(creator: string): Room {
    const room = new Room(this.newRoomId(), creator);
    this.rooms.set(room.roomId, room);
    return room;
  }

  event(eventId: string): { room: Room; event: StoredEvent } | undefined {
    return this.byId.get(eventId);
  }

  txnEvent(token: string, userId: string, txnId: string): string | undefined {
    return this.txns.get(`${token}|${userId}|${txnId}`);
  }

  /** Authorises, stores and announces an event, like a homeserver's event persister. */
  send(room: Room, ev: NewEvent): StoredEvent {
    if (ev.txn) {
      const existing = this.txns.get(`${ev.txn.token}|${ev.sender}|${ev.txn.txnId}`);
      const known = existing ? this.byId.get(existing) : undefined;
      if (known) return known.event;
    }
    this.authorize(room, ev);
    const now = Date.now();
    checkNewEvent({
      type: ev.type, sender: ev.sender, roomId: room.roomId, content: ev.content, stateKey: ev.state_key, redacts: ev.redacts,
      originServerTs: now, depth: room.events.length + 1, authEvents: this.authEventIds(room, ev), prevEvents: room.events.slice(-1).map((e) => e.event_id), serverName: this.serverName,
    });
    const event: StoredEvent = {
      event_id: `$${randomBytes(32).toString('base64url')}`,
      type: ev.type,
      sender: ev.sender,
      room_id: room.roomId,
      origin_server_ts: now,
      content: structuredClone(ev.content),
      stream: ++this.stream,
    };
    if (ev.state_key !== undefined) {
      event.state_key = ev.state_key;
      const prev = room.getState(ev.type, ev.state_key);
      if (prev) event.unsigned = { prev_content: prev.content, replaces_state: prev.event_id };
    }
    if (ev.redacts !== undefined) event.redacts = ev.redacts;
    if (ev.txn) {
      event.txn = ev.txn;
      this.txns.set(`${ev.txn.token}|${ev.sender}|${ev.txn.txnId}`, event.event_id);
    }
    room.events.push(event);
    this.byId.set(event.event_id, { room, event });
    if (event.state_key !== undefined) room.state.set(stateKey(event.type, event.state_key), event);
    if (event.type === 'm.room.redaction' && event.redacts) this.applyRedaction(room, event);
    if (event.type === 'm.room.member' && event.content.membership !== 'join') room.typing.delete(event.state_key!);
    this.notify(room, event);
    return event;
  }

  /** The auth events a new event would cite (room version 10): create, power levels, the sender's membership, and for membership changes the target's and the join rules. */
  private authEventIds(room: Room, ev: NewEvent): string[] {
    const keys: Array<[string, string]> = [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', ev.sender]];
    if (ev.type === 'm.room.member') keys.push(['m.room.member', ev.state_key ?? ''], ['m.room.join_rules', '']);
    return [...new Set(keys.map(([t, k]) => room.getState(t, k)?.event_id).filter((id): id is string => id !== undefined))];
  }

  private applyRedaction(room: Room, redaction: StoredEvent): void {
    const target = this.byId.get(redaction.redacts!);
    if (!target || target.room !== room) return;
    const keep = REDACTION_KEEP[target.event.type] ?? [];
    const content: Record<string, unknown> = {};
    for (const k of keep) if (k in target.event.content) content[k] = target.event.content[k];
    target.event.content = content;
    const { stream: _s, txn: _t, ...because } = redaction;
    target.event.unsigned = { redacted_because: because };
  }

  /** The authorisation rules (room version 10), simplified to one server. */
  authorize(room: Room, ev: NewEvent): void {
    if (ev.type === 'm.room.create') {
      if (room.events.length > 0) throw forbidden('The room already has a create event.');
      return;
    }
    if (ev.type === 'm.room.member') return this.authorizeMembership(room, ev);
    const senderMembership = room.membership(ev.sender);
    if (senderMembership !== 'join') throw forbidden(`User ${ev.sender} not in room ${room.roomId} (${senderMembership ?? 'never joined'})`);
    const isState = ev.state_key !== undefined;
    if (isState && ev.state_key!.startsWith('@') && ev.state_key !== ev.sender) throw forbidden('You are not allowed to set others state');
    const level = room.userLevel(ev.sender);
    const required = room.requiredLevel(ev.type, isState);
    if (level < required) throw forbidden(`You don't have permission to post that to the room. user_level (${level}) < send_level (${required})`);
    if (ev.type === 'm.room.power_levels') this.authorizePowerLevels(room, ev, level);
    if (ev.type === 'm.space.child' || ev.type === 'm.space.parent') checkSpaceLink(ev);
    if (ev.type === 'm.room.redaction') {
      const target = this.byId.get(ev.redacts ?? '');
      const own = target?.event.sender === ev.sender;
      if (!own && level < room.actionLevel('redact')) throw forbidden('You don\'t have permission to redact events');
    }
  }

  private authorizePowerLevels(room: Room, ev: NewEvent, level: number): void {
    const old = room.powerLevels();
    const next = ev.content;
    for (const key of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
      const before = old[key] as number | undefined;
      const after = next[key] as number | undefined;
      if (before !== after && ((before ?? 0) > level || (after ?? 0) > level)) throw forbidden(`You don't have permission to change "${key}" beyond your own level (${level})`);
    }
    for (const map of ['events', 'users'] as const) {
      const before = (old[map] ?? {}) as Record<string, number>;
      const after = (next[map] ?? {}) as Record<string, number>;
      for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
        if (before[k] === after[k]) continue;
        if ((before[k] ?? 0) > level || (after[k] ?? 0) > level) throw forbidden(`You don't have permission to change ${map}["${k}"] beyond your own level (${level})`);
        if (map === 'users' && k !== ev.sender && before[k] !== undefined && before[k]! >= level) throw forbidden(`You don't have permission to change the level of ${k}, whose level is not below yours`);
      }
    }
  }

  private authorizeMembership(room: Room, ev: NewEvent): void {
    const target = ev.state_key;
    if (!target?.startsWith('@')) throw new MatrixError(400, 'M_BAD_JSON', 'm.room.member needs a user id as state_key');
    const membership = ev.content.membership as string;
    const senderMembership = room.membership(ev.sender);
    const targetMembership = room.membership(target);
    const senderLevel = room.userLevel(ev.sender);
    const targetLevel = room.userLevel(target);
    switch (membership) {
      case 'join': {
        if (ev.sender !== target) throw forbidden('Cannot force another user to join.');
        const first = room.events.length === 1 && ev.sender === room.creator;
        if (first) return;
        if (targetMembership === 'ban') throw forbidden('You are banned from this room');
        if (targetMembership === 'join') return;
        const rule = room.joinRule();
        if (rule === 'public') return;
        if (targetMembership === 'invite') return;
        throw forbidden('You are not invited to this room.');
      }
      case 'invite': {
        if (senderMembership !== 'join') throw forbidden(`${ev.sender} is not in the room`);
        if (targetMembership === 'ban') throw forbidden(`${target} is banned from the room`);
        if (targetMembership === 'join') throw forbidden(`${target} is already in the room.`);
        if (senderLevel < room.actionLevel('invite')) throw forbidden('You don\'t have permission to invite users');
        return;
      }
      case 'leave': {
        if (ev.sender === target) {
          if (targetMembership === 'join' || targetMembership === 'invite' || targetMembership === 'knock') return;
          throw forbidden(`${target} is not in the room`);
        }
        if (senderMembership !== 'join') throw forbidden(`${ev.sender} is not in the room`);
        if (targetMembership === 'ban') {
          if (senderLevel < room.actionLevel('ban')) throw forbidden('You don\'t have permission to unban');
          return;
        }
        if (senderLevel < room.actionLevel('kick') || senderLevel <= targetLevel) throw forbidden('You don\'t have permission to kick this user');
        return;
      }
      case 'ban': {
        if (senderMembership !== 'join') throw forbidden(`${ev.sender} is not in the room`);
        if (senderLevel < room.actionLevel('ban') || senderLevel <= targetLevel) throw forbidden('You don\'t have permission to ban this user');
        return;
      }
      default:
        throw new MatrixError(400, 'M_BAD_JSON', `Unknown membership "${membership}"`);
    }
  }

  /**
   * The events of `room` that `userId` may see, in order (the spec's history
   * visibility rules: world_readable, shared, invited, joined).
   */
  visibleEvents(room: Room, userId: string): StoredEvent[] {
    const currentlyJoined = room.membership(userId) === 'join';
    let membership: string | undefined;
    let visibility = 'shared';
    const out: StoredEvent[] = [];
    for (const e of room.events) {
      if (e.type === 'm.room.member' && e.state_key === userId) membership = e.content.membership as string;
      const allowed = visibility === 'world_readable' || membership === 'join'
        || (visibility === 'shared' && currentlyJoined)
        || ((visibility === 'invited' || visibility === 'shared') && membership === 'invite')
        || (e.type === 'm.room.member' && e.state_key === userId);
      if (allowed) out.push(e);
      if (e.type === 'm.room.history_visibility') visibility = (e.content.history_visibility as string) ?? 'shared';
    }
    return out;
  }

  /**
   * Deletes the room's non-state events older than `before` (a timestamp or an
   * event id), like Synapse's purge history admin API. State is kept.
   */
  purgeHistory(roomId: string, before: { ts?: number; eventId?: string }): number {
    const room = this.room(roomId);
    let cutoff = before.ts ?? Number.POSITIVE_INFINITY;
    let cutoffStream = Number.POSITIVE_INFINITY;
    if (before.eventId) {
      const target = this.byId.get(before.eventId);
      if (!target || target.room !== room) throw notFound(`Unknown event ${before.eventId}`);
      cutoffStream = target.event.stream;
      cutoff = Number.POSITIVE_INFINITY;
    }
    const currentState = new Set(room.stateEvents().map((e) => e.event_id));
    let purged = 0;
    for (let i = room.events.length - 1; i >= 0; i--) {
      const e = room.events[i]!;
      const old = e.origin_server_ts < cutoff && e.stream < cutoffStream && (before.ts !== undefined || before.eventId !== undefined);
      if (old && e.state_key === undefined && !currentState.has(e.event_id)) {
        room.events.splice(i, 1);
        this.byId.delete(e.event_id);
        purged++;
      }
    }
    return purged;
  }
}

/** An event as clients see it: no internal fields, `unsigned.age` filled in. */
export function clientEvent(e: StoredEvent, opts: { withRoomId?: boolean; token?: string } = {}): Record<string, unknown> {
  const { stream: _s, txn, ...rest } = e;
  const out: Record<string, unknown> = { ...rest, unsigned: { ...(e.unsigned ?? {}), age: Date.now() - e.origin_server_ts } };
  if (txn && opts.token && txn.token === opts.token) (out.unsigned as Record<string, unknown>).transaction_id = txn.txnId;
  if (opts.withRoomId === false) delete out.room_id;
  return out;
}

const ROOM_ID = /^![^:\s]+:[A-Za-z0-9.:[\]-]+$/;
const SERVER_NAME = /^[A-Za-z0-9.:[\]-]{1,255}$/;

/**
 * Space links: the state key names a room (a room id), and `via` (required
 * by the event schema) lists servers to join through — an empty list removes
 * the link (the spec: a link without a valid `via` is no link). Synapse
 * stores links whose state key is no room id, or whose `via` holds things
 * that are not server names, so clients see children that are none.
 * Refused here: a link that links nothing is a bug.
 */
function checkSpaceLink(ev: NewEvent): void {
  if (!ROOM_ID.test(ev.state_key ?? '')) throw new MatrixError(400, 'M_BAD_JSON', `${ev.type} needs a room id as state_key`);
  const via = ev.content.via;
  if (!Array.isArray(via) || !via.every((v) => typeof v === 'string' && SERVER_NAME.test(v))) {
    throw new MatrixError(400, 'M_BAD_JSON', `${ev.type} needs a via of server names (empty to remove the link)`);
  }
}

/** Stripped state for invites (`invite_state`). */
export function strippedState(room: Room): Record<string, unknown>[] {
  return ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.canonical_alias', 'm.room.avatar', 'm.room.encryption', 'm.room.topic']
    .map((t) => room.getState(t))
    .filter((e): e is StoredEvent => !!e)
    .map((e) => ({ type: e.type, state_key: e.state_key, content: e.content, sender: e.sender }));
}
