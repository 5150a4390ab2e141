/**
 * Admin hooks for tests (create users, inspect rooms, purge history), and the
 * Synapse-style admin HTTP API for purging history
 * (`POST /_synapse/admin/v1/purge_history/{roomId}`), which is not part of the
 * Matrix spec and so is not spec-checked.
 */
import { randomBytes } from 'node:crypto';
import { MatrixError, forbidden, notFound } from './router.ts';
import type { TestHomeserver } from './server.ts';
import { clientEvent, type Room } from './rooms.ts';

type Json = Record<string, unknown>;

export interface CreatedUser {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export class AdminHooks {
  private readonly data = new Map<string, Map<string, Json>>();
  private readonly filters = new Map<string, Json>();
  readonly serverAdmins = new Set<string>();

  constructor(private readonly hs: TestHomeserver) {}

  /** Creates a user and logs it in (`password` defaults to `password`). */
  createUser(localpart: string, opts: { displayname?: string; password?: string; admin?: boolean } = {}): CreatedUser {
    const user = this.hs.accounts.createUser(localpart, { password: opts.password ?? 'password', displayname: opts.displayname });
    if (opts.admin) this.serverAdmins.add(user.userId);
    const t = this.hs.accounts.issueToken(user.userId);
    return { userId: user.userId, accessToken: t.accessToken, deviceId: t.deviceId };
  }

  /** A fresh access token for an existing user. */
  login(userId: string): CreatedUser {
    const id = this.hs.accounts.userId(userId);
    if (!this.hs.accounts.users.has(id)) throw new Error(`no user ${id}`);
    const t = this.hs.accounts.issueToken(id);
    return { userId: id, accessToken: t.accessToken, deviceId: t.deviceId };
  }

  room(roomId: string): Room {
    const room = this.hs.rooms.rooms.get(roomId);
    if (!room) throw new Error(`no room ${roomId}`);
    return room;
  }

  /** The room's current state, as client events. */
  roomState(roomId: string): Json[] {
    return this.room(roomId).stateEvents().map((e) => clientEvent(e));
  }

  /** One state event's content, or undefined. */
  stateContent(roomId: string, type: string, stateKey = ''): Json | undefined {
    return this.room(roomId).getState(type, stateKey)?.content;
  }

  /** The whole stored timeline, oldest first, as client events. */
  timeline(roomId: string): Json[] {
    return this.room(roomId).events.map((e) => clientEvent(e));
  }

  /** Message events only (`type` given: only that type), oldest first. */
  messages(roomId: string, type = 'm.room.message'): Json[] {
    return this.timeline(roomId).filter((e) => e.type === type);
  }

  /**
   * Moves events' `origin_server_ts` back by `ms`, as if sent that long ago
   * (an appservice's timestamp massaging, after the fact): for tests of
   * what happens to old events. Returns how many were moved.
   */
  backdate(roomId: string, eventIds: Iterable<string>, ms: number): number {
    const ids = new Set(eventIds);
    let moved = 0;
    for (const e of this.room(roomId).events) {
      if (!ids.has(e.event_id)) continue;
      e.origin_server_ts -= ms;
      moved++;
    }
    return moved;
  }

  resolveAlias(alias: string): string | undefined {
    return this.hs.rooms.aliases.get(alias)?.roomId;
  }

  /** Deletes non-state events before a timestamp or event (Synapse's purge history). Returns how many. */
  purgeHistory(roomId: string, before: { ts?: number; eventId?: string }): number {
    return this.hs.rooms.purgeHistory(roomId, before);
  }

  accountData(userId: string): Map<string, Json> {
    let m = this.data.get(userId);
    if (!m) { m = new Map(); this.data.set(userId, m); }
    return m;
  }

  saveFilter(userId: string, filter: Json): string {
    const id = String(this.filters.size + 1);
    this.filters.set(`${userId}|${id}`, filter);
    return id;
  }

  filter(userId: string, id: string): Json | undefined {
    return this.filters.get(`${userId}|${id}`);
  }
}

export function registerAdminApi(hs: TestHomeserver): void {
  const purges = new Map<string, string>();
  hs.router.on('POST', '/_synapse/admin/v1/purge_history/{roomId}', (ctx) => {
    const who = hs.authenticate(ctx);
    if (!hs.admin.serverAdmins.has(who.userId)) throw forbidden('You are not a server admin');
    const body = (ctx.body ?? {}) as { purge_up_to_ts?: number; purge_up_to_event_id?: string; delete_local_events?: boolean };
    if (body.purge_up_to_ts === undefined && body.purge_up_to_event_id === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'purge_up_to_ts or purge_up_to_event_id is required');
    if (!hs.rooms.rooms.has(ctx.params.roomId!)) throw notFound('Unknown room');
    hs.rooms.purgeHistory(ctx.params.roomId!, { ts: body.purge_up_to_ts, eventId: body.purge_up_to_event_id });
    const purgeId = randomBytes(8).toString('hex');
    purges.set(purgeId, 'complete');
    return { purge_id: purgeId };
  });
  hs.router.on('GET', '/_synapse/admin/v1/purge_history_status/{purgeId}', (ctx) => {
    const who = hs.authenticate(ctx);
    if (!hs.admin.serverAdmins.has(who.userId)) throw forbidden('You are not a server admin');
    const status = purges.get(ctx.params.purgeId!);
    if (!status) throw notFound('Unknown purge');
    return { status };
  });
}
