/**
 * Which Matrix Space is whose: a person's personal Space (personal_spaces),
 * a team's Space (team_spaces), and who a shared room invited because of its
 * team (shared_room_invites), so an unshare removes them and only them.
 * Channel mappings keyed by ids the caller already resolved; no content.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../src/db/client.ts';
import { personalSpaces, sharedRoomInvites, teamSpaces } from '../../src/db/schema.ts';

export class SpaceStore {
  constructor(private readonly db: Db) {}

  async personalSpaceOf(userId: string): Promise<string | null> {
    const [row] = await this.db.select({ roomId: personalSpaces.spaceRoomId }).from(personalSpaces).where(eq(personalSpaces.userId, userId)).limit(1);
    return row?.roomId ?? null;
  }

  /** Records a person's Space; when another replica recorded one first, theirs is returned (and ours is not kept). */
  async claimPersonalSpace(userId: string, spaceRoomId: string): Promise<string> {
    await this.db.insert(personalSpaces).values({ userId, spaceRoomId }).onConflictDoNothing();
    return (await this.personalSpaceOf(userId))!;
  }

  async teamSpaceOf(teamId: string): Promise<string | null> {
    const [row] = await this.db.select({ roomId: teamSpaces.spaceRoomId }).from(teamSpaces).where(eq(teamSpaces.teamId, teamId)).limit(1);
    return row?.roomId ?? null;
  }

  async claimTeamSpace(teamId: string, spaceRoomId: string): Promise<string> {
    await this.db.insert(teamSpaces).values({ teamId, spaceRoomId }).onConflictDoNothing();
    return (await this.teamSpaceOf(teamId))!;
  }

  /** Forgets a deleted team's Space once it is closed. */
  async forgetTeamSpace(teamId: string): Promise<void> {
    await this.db.delete(teamSpaces).where(eq(teamSpaces.teamId, teamId));
  }

  /** Remembers that the share invited these people to a room (those already there are not recorded). */
  async recordInvites(roomId: string, teamId: string, matrixUserIds: string[]): Promise<void> {
    if (matrixUserIds.length === 0) return;
    await this.db
      .insert(sharedRoomInvites)
      .values(matrixUserIds.map((matrixUserId) => ({ roomId, matrixUserId, teamId })))
      .onConflictDoUpdate({ target: [sharedRoomInvites.roomId, sharedRoomInvites.matrixUserId], set: { teamId } });
  }

  /** Who a team's share invited to a room. */
  async invitesOf(roomId: string, teamId: string): Promise<string[]> {
    const rows = await this.db.select({ id: sharedRoomInvites.matrixUserId }).from(sharedRoomInvites).where(and(eq(sharedRoomInvites.roomId, roomId), eq(sharedRoomInvites.teamId, teamId)));
    return rows.map((r) => r.id);
  }

  /** The rooms a team's share invited these people to (a member leaving the team). */
  async roomsInvitedTo(teamId: string, matrixUserIds: string[]): Promise<Array<{ roomId: string; matrixUserId: string }>> {
    if (matrixUserIds.length === 0) return [];
    return this.db
      .select({ roomId: sharedRoomInvites.roomId, matrixUserId: sharedRoomInvites.matrixUserId })
      .from(sharedRoomInvites)
      .where(and(eq(sharedRoomInvites.teamId, teamId), inArray(sharedRoomInvites.matrixUserId, matrixUserIds)));
  }

  async forgetInvites(roomId: string, matrixUserIds: string[]): Promise<void> {
    if (matrixUserIds.length === 0) return;
    await this.db.delete(sharedRoomInvites).where(and(eq(sharedRoomInvites.roomId, roomId), inArray(sharedRoomInvites.matrixUserId, matrixUserIds)));
  }
}
