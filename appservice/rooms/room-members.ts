/**
 * Who is joined to a room, without a `joined_members` call per message.
 * A room's list is kept until a membership event of that room arrives
 * (Mosaic receives every one of them anyway: they are pushed to the
 * appservice); the replica that takes such an event tells every replica
 * over the invalidation channel, since another replica may process the
 * room's next message. A safety expiry bounds what a lost invalidation
 * (Valkey down for a moment) can leave stale.
 */
import { isMatrixError, type MatrixClient } from '../transport/matrix-client.ts';

export type JoinedMembers = Record<string, { display_name?: string | null }>;

/** The cross-replica channel (src/valkey/invalidation.ts), as this cache needs it. */
export interface MembersInvalidation {
  publish(topic: string): Promise<void>;
  subscribe(topic: string, handler: () => void): Promise<void>;
}

export const MEMBERS_TOPIC = 'matrix-members';
const DEFAULT_TTL_MS = 60_000;
const DEFAULT_MAX_ROOMS = 10_000;

export class RoomMembers {
  /** A room's list, or the refusal of a room the asking user is not in (kept too: unmapped traffic would ask every time). */
  private readonly rooms = new Map<string, { members: JoinedMembers; at: number } | { refused: unknown; at: number }>();
  /** Bumped on every drop: a lookup that started before it is not stored (it may have read the old list). */
  private generation = 0;

  constructor(
    private readonly client: Pick<MatrixClient, 'joinedMembers'>,
    private readonly invalidation: MembersInvalidation | null,
    private readonly options: { ttlMs?: number; maxRooms?: number; clock?: () => number } = {},
  ) {}

  /** Starts listening to other replicas' membership news. */
  async start(): Promise<void> {
    await this.invalidation?.subscribe(MEMBERS_TOPIC, () => this.dropAll());
  }

  /** The room's joined members, read as `asUser` (who must be in the room) when not cached. */
  async joined(roomId: string, asUser: string): Promise<JoinedMembers> {
    const now = (this.options.clock ?? Date.now)();
    const hit = this.rooms.get(roomId);
    if (hit && now - hit.at < (this.options.ttlMs ?? DEFAULT_TTL_MS)) {
      if ('refused' in hit) throw hit.refused;
      return hit.members;
    }
    const generation = this.generation;
    let entry: { members: JoinedMembers; at: number } | { refused: unknown; at: number };
    try {
      entry = { members: await this.client.joinedMembers(roomId, asUser), at: now };
    } catch (err) {
      // Not in the room (403) or no such room (404) lasts until a membership event (an invite) says otherwise; anything else is not kept.
      if (!isMatrixError(err) || (err.status !== 403 && err.status !== 404)) throw err;
      entry = { refused: err, at: now };
    }
    if (generation === this.generation) {
      // Oldest first out: a Map keeps insertion order.
      this.rooms.delete(roomId);
      if (this.rooms.size >= (this.options.maxRooms ?? DEFAULT_MAX_ROOMS)) this.rooms.delete(this.rooms.keys().next().value!);
      this.rooms.set(roomId, entry);
    }
    if ('refused' in entry) throw entry.refused;
    return entry.members;
  }

  /** A membership event of the room arrived: drop it here, and tell the other replicas. */
  async changed(roomId: string): Promise<void> {
    this.rooms.delete(roomId);
    this.generation++;
    // The topic carries no room: every replica drops all rooms (membership events are rare next to messages).
    await this.invalidation?.publish(MEMBERS_TOPIC);
  }

  private dropAll(): void {
    this.rooms.clear();
    this.generation++;
  }
}
