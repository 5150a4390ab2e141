/**
 * The joined-members cache: one homeserver call per room until a membership
 * event of that room, shared invalidation across replicas, and a lookup
 * racing a membership change never stores the old list.
 */
import { describe, expect, it } from 'vitest';
import { RoomMembers, type JoinedMembers, type MembersInvalidation } from '../../appservice/rooms/room-members.ts';
import { MatrixApiError } from '../../appservice/transport/matrix-client.ts';

/** A homeserver whose member lists the test changes, counting calls. */
function homeserver() {
  const rooms = new Map<string, JoinedMembers>([['!a', { '@ann:x': { display_name: 'Ann' } }]]);
  let calls = 0;
  let gate: Promise<void> | null = null;
  return {
    rooms,
    get calls() {
      return calls;
    },
    hold(p: Promise<void>) {
      gate = p;
    },
    client: {
      async joinedMembers(roomId: string) {
        calls++;
        if (!rooms.has(roomId)) throw new MatrixApiError(403, 'M_FORBIDDEN', 'not in the room', 'joined_members');
        const snapshot = { ...(rooms.get(roomId) ?? {}) };
        if (gate) await gate;
        return snapshot;
      },
    },
  };
}

/** Two replicas on one channel, like ValkeyInvalidation (every subscriber hears every publish, itself included). */
function channel(): MembersInvalidation {
  const handlers = new Map<string, Array<() => void>>();
  return {
    async publish(topic) {
      for (const h of handlers.get(topic) ?? []) h();
    },
    async subscribe(topic, handler) {
      handlers.set(topic, [...(handlers.get(topic) ?? []), handler]);
    },
  };
}

describe('RoomMembers', () => {
  it('asks the homeserver once per room until a membership event of that room', async () => {
    const hs = homeserver();
    const members = new RoomMembers(hs.client, null);
    expect(Object.keys(await members.joined('!a', '@bot:x'))).toEqual(['@ann:x']);
    await members.joined('!a', '@bot:x');
    expect(hs.calls).toBe(1);
    hs.rooms.set('!a', { '@ann:x': {}, '@bob:x': {} });
    await members.changed('!a');
    expect(Object.keys(await members.joined('!a', '@bot:x'))).toEqual(['@ann:x', '@bob:x']);
    expect(hs.calls).toBe(2);
  });

  it("a change taken by one replica is seen by the other's next lookup", async () => {
    const hs = homeserver();
    const bus = channel();
    const a = new RoomMembers(hs.client, bus);
    const b = new RoomMembers(hs.client, bus);
    await a.start();
    await b.start();
    await b.joined('!a', '@bot:x');
    hs.rooms.set('!a', {});
    await a.changed('!a');
    expect(await b.joined('!a', '@bot:x')).toEqual({});
  });

  it('a lookup that read the list before a change is not kept', async () => {
    const hs = homeserver();
    const members = new RoomMembers(hs.client, null);
    let release!: () => void;
    hs.hold(new Promise<void>((r) => (release = r)));
    const stale = members.joined('!a', '@bot:x');
    hs.rooms.set('!a', {});
    await members.changed('!a');
    release();
    expect(Object.keys(await stale)).toEqual(['@ann:x']);
    hs.hold(Promise.resolve());
    expect(await members.joined('!a', '@bot:x')).toEqual({});
  });

  it('expires on its own (a lost invalidation cannot keep a list for ever)', async () => {
    const hs = homeserver();
    let now = 0;
    const members = new RoomMembers(hs.client, null, { ttlMs: 1000, clock: () => now });
    await members.joined('!a', '@bot:x');
    now = 999;
    await members.joined('!a', '@bot:x');
    now = 1000;
    await members.joined('!a', '@bot:x');
    expect(hs.calls).toBe(2);
  });

  it("a room the bot is not in is refused from memory until a membership event (the bot's invite) of that room", async () => {
    const hs = homeserver();
    const members = new RoomMembers(hs.client, null);
    for (let i = 0; i < 3; i++) await expect(members.joined('!unmapped', '@bot:x')).rejects.toMatchObject({ status: 403 });
    expect(hs.calls).toBe(1);
    hs.rooms.set('!unmapped', { '@bot:x': {} });
    await members.changed('!unmapped');
    expect(Object.keys(await members.joined('!unmapped', '@bot:x'))).toEqual(['@bot:x']);
    expect(hs.calls).toBe(2);
  });
});
