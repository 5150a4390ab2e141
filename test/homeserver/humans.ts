/**
 * Human test users, driven by a real Matrix client library (matrix-js-sdk,
 * without crypto). `hs.createHuman('alice')` creates and logs in the user and
 * returns the client, plus helpers that wait for messages through `/sync` or
 * read history through `/messages` — all via the library's own HTTP layer.
 */
import { createClient, Direction, Method, type MatrixClient } from 'matrix-js-sdk';
import { logger as sdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';
import type { TestHomeserver } from './server.ts';

type Json = Record<string, unknown>;

export interface SyncedEvent extends Json {
  event_id: string;
  type: string;
  sender: string;
  room_id: string;
  content: Json;
  origin_server_ts: number;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Only events after this event id (in this human's sync order). */
  after?: string;
}

export interface Human {
  userId: string;
  accessToken: string;
  deviceId: string;
  /** The matrix-js-sdk client (not started: call `client.startClient()` only if a test needs the SDK's sync loop). */
  client: MatrixClient;
  /** Every timeline event this human has received through `/sync`, in order. */
  readonly received: SyncedEvent[];
  /** One `/sync` round (long-polling up to `timeoutMs`); returns the new timeline events. */
  sync(timeoutMs?: number): Promise<SyncedEvent[]>;
  /**
   * Waits (through `/sync`) for a timeline event in `roomId` matching `match`
   * (a body string, or a predicate); checks already received events first.
   */
  waitForEvent(roomId: string, match: string | ((e: SyncedEvent) => boolean), opts?: WaitOptions): Promise<SyncedEvent>;
  /** Room history through `/rooms/{roomId}/messages`, oldest first (walks back up to `limit` events). */
  history(roomId: string, limit?: number): Promise<SyncedEvent[]>;
  /** Waits for an invite to arrive through `/sync`, returns the room id. */
  waitForInvite(match?: (roomId: string) => boolean, timeoutMs?: number): Promise<string>;
}

const silent: Logger = {
  trace() {}, debug() {}, info() {}, warn() {}, error() {},
  getChild() { return silent; },
};

// The SDK's module-level logger (its scheduler, sync) would otherwise print to the test output.
(sdkLogger as unknown as { setLevel?: (level: string) => void }).setLevel?.('silent');

export async function createHuman(hs: TestHomeserver, localpart: string, opts: { displayname?: string } = {}): Promise<Human> {
  const created = hs.admin.createUser(localpart, { displayname: opts.displayname });
  const client = createClient({ baseUrl: hs.url, accessToken: created.accessToken, userId: created.userId, deviceId: created.deviceId, logger: silent });
  const received: SyncedEvent[] = [];
  const invites: string[] = [];
  let since: string | undefined;

  const sync = async (timeoutMs = 0): Promise<SyncedEvent[]> => {
    const query: Record<string, string> = { timeout: String(timeoutMs), filter: JSON.stringify({ room: { timeline: { limit: 100 } } }) };
    if (since) query.since = since;
    const res = await client.http.authedRequest<Json>(Method.Get, '/sync', query);
    since = res.next_batch as string;
    const rooms = (res.rooms ?? {}) as { join?: Record<string, { timeline?: { events?: Json[] } }>; invite?: Record<string, unknown>; leave?: Record<string, { timeline?: { events?: Json[] } }> };
    const fresh: SyncedEvent[] = [];
    for (const section of [rooms.join ?? {}, rooms.leave ?? {}]) {
      for (const [roomId, data] of Object.entries(section)) {
        for (const e of data.timeline?.events ?? []) fresh.push({ ...e, room_id: roomId } as SyncedEvent);
      }
    }
    for (const roomId of Object.keys(rooms.invite ?? {})) invites.push(roomId);
    received.push(...fresh);
    return fresh;
  };

  const waitForEvent: Human['waitForEvent'] = async (roomId, match, o = {}) => {
    const pred = typeof match === 'string' ? (e: SyncedEvent) => e.content?.body === match : match;
    const deadline = Date.now() + (o.timeoutMs ?? 5000);
    const test = (e: SyncedEvent) => e.room_id === roomId && pred(e);
    const search = () => {
      const start = o.after ? received.findIndex((e) => e.event_id === o.after) + 1 : 0;
      return received.slice(start).find(test);
    };
    for (;;) {
      const hit = search();
      if (hit) return hit;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${created.userId} saw no matching event in ${roomId} (received ${received.length} events)`);
      await sync(Math.min(remaining, 1000));
    }
  };

  const history: Human['history'] = async (roomId, limit = 100) => {
    const out: SyncedEvent[] = [];
    let from: string | null = null;
    while (out.length < limit) {
      const res = await client.createMessagesRequest(roomId, from, Math.min(50, limit - out.length), Direction.Backward);
      out.push(...(res.chunk as unknown as SyncedEvent[]));
      if (!res.end || res.chunk.length === 0) break;
      from = res.end;
    }
    return out.reverse();
  };

  const waitForInvite: Human['waitForInvite'] = async (match = () => true, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = invites.find(match);
      if (hit) return hit;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`${created.userId} received no invite`);
      await sync(Math.min(remaining, 1000));
    }
  };

  return { ...created, client, received, sync, waitForEvent, history, waitForInvite };
}
