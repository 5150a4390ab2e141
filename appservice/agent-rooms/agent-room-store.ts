/**
 * The agent rooms the appservice made (or found), kept in the database so
 * retention can list every one of them after a restart and from any
 * replica: they hold no conversation rows, so nothing else leads to them.
 * Room ids, aliases and dates only; what was said stays on the homeserver.
 */
import { and, asc, eq, gt, isNull, lt, or } from 'drizzle-orm';
import type { Db } from '../../src/db/client.ts';
import { agentRooms } from '../../src/db/schema.ts';

export interface AgentRoomRow {
  roomId: string;
  alias: string;
  /** Every event older than this is redacted already (null: nothing redacted yet). */
  redactedBefore: Date | null;
}

export class AgentRoomStore {
  constructor(private readonly db: Db) {}

  /** Notes a room; replicas racing on the same room keep the first row. */
  async record(roomId: string, alias: string): Promise<void> {
    await this.db.insert(agentRooms).values({ roomId, alias }).onConflictDoNothing();
  }

  /** Every recorded agent room, by room id after `afterRoomId`. */
  async list(afterRoomId: string | null, limit: number): Promise<AgentRoomRow[]> {
    return this.db
      .select({ roomId: agentRooms.roomId, alias: agentRooms.alias, redactedBefore: agentRooms.redactedBefore })
      .from(agentRooms)
      .where(afterRoomId ? gt(agentRooms.roomId, afterRoomId) : undefined)
      .orderBy(asc(agentRooms.roomId))
      .limit(limit);
  }

  /** Everything before `before` is redacted: the next purge stops there. Never moves back (a longer policy later redacts nothing new). */
  async markRedactedBefore(roomId: string, before: Date): Promise<void> {
    await this.db
      .update(agentRooms)
      .set({ redactedBefore: before })
      .where(and(eq(agentRooms.roomId, roomId), or(isNull(agentRooms.redactedBefore), lt(agentRooms.redactedBefore, before))));
  }
}
