/**
 * Spaces on Matrix: a personal Space per linked person, holding the rooms of
 * the conversations they own, and a Space per team, holding the rooms shared
 * with it. A room is the child of exactly one Space (`m.space.child` in the
 * Space, `m.space.parent` in the room): its owner's, or its team's while it
 * is shared. Personal rooms keep history visibility `invited`, shared rooms
 * `shared`. Spaces are invite-only, never in the public directory, with the
 * power levels of the seed's table (bot 100, people 50); only Mosaic edits
 * their hierarchy (`m.space.child` needs 100).
 *
 * Every method is idempotent: the team and identity jobs that call them are
 * retried while the homeserver is away.
 */
import type { Logger } from '../../src/logging.ts';
import type { TeamStore } from '../../src/teams/team-store.ts';
import type { UserStore } from '../../src/identity/user-store.ts';
import type { ConversationStore } from '../../src/conversations/conversation-store.ts';
import type { Ghosts } from '../identity/ghosts.ts';
import type { RoomStore } from '../rooms/room-store.ts';
import { isMatrixError, type MatrixClient } from '../transport/matrix-client.ts';
import type { SpaceStore } from './space-store.ts';

export interface SpaceManagerDeps {
  client: MatrixClient;
  ghosts: Ghosts;
  rooms: RoomStore;
  spaces: SpaceStore;
  teams: TeamStore;
  users: UserStore;
  conversations: ConversationStore;
  /** The Matrix accounts linked to a Mosaic account. */
  matrixUsersOf(userId: string): Promise<string[]>;
  serverName: string;
  logger: Logger;
}

/** The power levels of a Space: bot 100, people 50; the hierarchy and the room's settings are Mosaic's. */
export function spacePowerLevels(bot: string, humans: string[]): Record<string, unknown> {
  const users: Record<string, number> = { [bot]: 100 };
  for (const h of humans) users[h] = 50;
  return {
    users,
    users_default: 0,
    events_default: 0,
    state_default: 50,
    invite: 50,
    kick: 50,
    ban: 50,
    redact: 50,
    events: { 'm.space.child': 100, 'm.room.power_levels': 100, 'm.room.history_visibility': 100, 'm.room.join_rules': 100, 'm.room.tombstone': 100, 'm.room.encryption': 100 },
  };
}

const refusedForGood = (err: unknown) => isMatrixError(err) && (err.status === 403 || err.status === 404);

export class SpaceManager {
  constructor(private readonly d: SpaceManagerDeps) {}

  private get bot(): string {
    return this.d.ghosts.botUserId;
  }

  private async createSpace(name: string, topic: string, humans: string[]): Promise<string> {
    return this.d.client.createRoom({
      preset: 'private_chat',
      visibility: 'private',
      name: name.slice(0, 255),
      topic,
      creation_content: { type: 'm.space' },
      power_level_content_override: spacePowerLevels(this.bot, humans),
      initial_state: [
        { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'invite' } },
        { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'invited' } },
      ],
    });
  }

  /** Invites people not in the room yet (joined or invited people are left as they are); returns whom it invited. */
  private async inviteMissing(roomId: string, people: string[]): Promise<string[]> {
    const invited: string[] = [];
    for (const person of new Set(people)) {
      const member = await this.d.client.getState(roomId, 'm.room.member', person, this.bot).catch(() => null);
      if (member?.membership === 'join' || member?.membership === 'invite') continue;
      try {
        await this.d.client.invite(roomId, person, this.bot);
        invited.push(person);
      } catch (err) {
        // A banned or unknown account stays out; the others are still invited.
        if (!refusedForGood(err) && !isMatrixError(err, 'M_FORBIDDEN')) throw err;
        this.d.logger.info({ channel: 'matrix', event: 'space.invite_refused', roomId, userId: person, err: (err as Error).message }, 'the homeserver refused an invite');
      }
    }
    return invited;
  }

  /**
   * The seed's levels for people in a room: 50 for those given, none for
   * those removed (back to users_default 0). Rooms where the bot cannot
   * change power levels (a room a person made) are left as they are.
   */
  private async setPeopleLevels(roomId: string, add: string[], remove: string[] = []): Promise<void> {
    try {
      const levels = await this.d.client.getState(roomId, 'm.room.power_levels', '', this.bot);
      if (!levels) return;
      const users = { ...((levels.users ?? {}) as Record<string, number>) };
      if (users[this.bot] !== 100) return;
      let changed = false;
      for (const p of add) {
        if (users[p] !== undefined) continue;
        users[p] = 50;
        changed = true;
      }
      for (const p of remove) {
        if (users[p] !== 50) continue;
        delete users[p];
        changed = true;
      }
      if (changed) await this.d.client.putState(roomId, 'm.room.power_levels', '', { ...levels, users }, this.bot);
    } catch (err) {
      if (!refusedForGood(err)) throw err;
    }
  }

  /** Removes people from a room (those joined or invited); the reason is shown to them. */
  private async removeFrom(roomId: string, people: string[], reason: string): Promise<void> {
    for (const person of new Set(people)) {
      const member = await this.d.client.getState(roomId, 'm.room.member', person, this.bot).catch(() => null);
      if (member?.membership !== 'join' && member?.membership !== 'invite') continue;
      try {
        await this.d.client.kick(roomId, person, this.bot, reason);
      } catch (err) {
        if (!refusedForGood(err)) throw err;
        this.d.logger.info({ channel: 'matrix', event: 'space.remove_refused', roomId, userId: person, err: (err as Error).message }, 'could not remove a person from a room');
      }
    }
  }

  private async matrixIdsOf(userIds: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const id of userIds) out.push(...(await this.d.matrixUsersOf(id)));
    return out;
  }

  // ---- personal Spaces ------------------------------------------------------------------------

  /** The person's Space, made (and the person invited) when missing; every room they own becomes its child. */
  async ensurePersonalSpace(userId: string): Promise<string | null> {
    const user = await this.d.users.findById(userId);
    if (!user) return null;
    const people = await this.d.matrixUsersOf(userId);
    let spaceId = await this.d.spaces.personalSpaceOf(userId);
    if (!spaceId) {
      const profile = people[0] ? await this.d.client.getProfile(people[0]).catch(() => null) : null;
      const name = `${user.displayName ?? profile?.displayname ?? user.username}'s Space`;
      const made = await this.createSpace(name, 'Your Mosaic conversations', people);
      spaceId = await this.d.spaces.claimPersonalSpace(userId, made);
      if (spaceId !== made) await this.d.client.leave(made, this.bot).catch(() => undefined);
      else this.d.logger.info({ channel: 'matrix', event: 'space.personal_created', spaceId, userId }, 'personal Space created');
    }
    await this.setPeopleLevels(spaceId, people);
    await this.inviteMissing(spaceId, people);
    for (const c of await this.d.rooms.conversationsOf(userId, 1000)) {
      if (c.roomId) await this.placeRoom(c.id);
    }
    return spaceId;
  }

  // ---- team Spaces ----------------------------------------------------------------------------

  /** The team's Space, made when missing; its members are invited. Null when the team no longer exists. */
  async ensureTeamSpace(teamId: string): Promise<string | null> {
    const [team] = await this.d.teams.describe([teamId]);
    if (!team) return null;
    const members = await this.matrixIdsOf((await this.d.teams.membersOf(teamId)).map((m) => m.userId));
    let spaceId = await this.d.spaces.teamSpaceOf(teamId);
    if (!spaceId) {
      const made = await this.createSpace(team.name, `Mosaic team ${team.slug}`, members);
      spaceId = await this.d.spaces.claimTeamSpace(teamId, made);
      if (spaceId !== made) await this.d.client.leave(made, this.bot).catch(() => undefined);
      else this.d.logger.info({ channel: 'matrix', event: 'space.team_created', spaceId, teamId }, 'team Space created');
    }
    await this.setPeopleLevels(spaceId, members);
    await this.inviteMissing(spaceId, members);
    return spaceId;
  }

  /** A new member: invited to the team's Space and to every room shared with the team. */
  async memberAdded(teamId: string, userId: string): Promise<void> {
    const stillMember = (await this.d.teams.membersOf(teamId)).some((m) => m.userId === userId);
    if (!stillMember) return;
    const people = await this.d.matrixUsersOf(userId);
    // The Space invites every member, the new one too.
    await this.ensureTeamSpace(teamId);
    for (const conv of await this.d.teams.sharedConversations(teamId)) {
      const mapped = await this.d.rooms.byConversation(conv.id);
      if (!mapped || conv.ownerId === userId) continue;
      await this.setPeopleLevels(mapped.room.roomId, people);
      const invited = await this.inviteMissing(mapped.room.roomId, people);
      await this.d.spaces.recordInvites(mapped.room.roomId, teamId, invited);
    }
  }

  /** A member who left: out of the team's Space and of the rooms the team's shares invited them to. */
  async memberRemoved(teamId: string, userId: string): Promise<void> {
    if ((await this.d.teams.membersOf(teamId)).some((m) => m.userId === userId)) return;
    const people = await this.d.matrixUsersOf(userId);
    const spaceId = await this.d.spaces.teamSpaceOf(teamId);
    if (spaceId) {
      await this.removeFrom(spaceId, people, 'You left the team.');
      await this.setPeopleLevels(spaceId, [], people);
    }
    for (const { roomId, matrixUserId } of await this.d.spaces.roomsInvitedTo(teamId, people)) {
      await this.removeFrom(roomId, [matrixUserId], 'You left the team this conversation is shared with.');
      await this.setPeopleLevels(roomId, [], [matrixUserId]);
      await this.d.spaces.forgetInvites(roomId, [matrixUserId]);
    }
  }

  /** A deleted team: its shared rooms go back to their owners' Spaces, its Space is closed. */
  async teamDeleted(teamId: string, memberIds: string[], conversationIds: string[]): Promise<void> {
    for (const id of conversationIds) await this.unshared(id, teamId);
    const spaceId = await this.d.spaces.teamSpaceOf(teamId);
    if (!spaceId) return;
    await this.removeFrom(spaceId, await this.matrixIdsOf(memberIds), 'The team was deleted.');
    await this.d.client.leave(spaceId, this.bot).catch((err: unknown) => {
      if (!refusedForGood(err)) throw err;
    });
    await this.d.spaces.forgetTeamSpace(teamId);
    this.d.logger.info({ channel: 'matrix', event: 'space.team_closed', spaceId, teamId }, 'team Space closed');
  }

  // ---- rooms in Spaces ------------------------------------------------------------------------

  /** Links a room into a Space, or unlinks it: `via` is required by the event schema, and an empty one is no link. */
  private async link(spaceId: string, roomId: string, on: boolean): Promise<void> {
    const via = { via: on ? [this.d.serverName] : [] };
    const child = await this.d.client.getState(spaceId, 'm.space.child', roomId, this.bot).catch(() => null);
    if (on || ((child?.via as unknown[] | undefined)?.length ?? 0) > 0) await this.d.client.putState(spaceId, 'm.space.child', roomId, on ? { ...via, suggested: false } : via, this.bot);
    try {
      const parent = await this.d.client.getState(roomId, 'm.space.parent', spaceId, this.bot).catch(() => null);
      if (!on && ((parent?.via as unknown[] | undefined)?.length ?? 0) === 0) return;
      await this.d.client.putState(roomId, 'm.space.parent', spaceId, on ? { ...via, canonical: true } : via, this.bot);
    } catch (err) {
      // A room a person created, where the bot may not send state: the Space still lists it.
      if (!refusedForGood(err)) throw err;
      this.d.logger.info({ channel: 'matrix', event: 'space.parent_refused', roomId, spaceId, err: (err as Error).message }, 'could not mark the room with its Space');
    }
  }

  private async setHistory(roomId: string, visibility: 'invited' | 'shared'): Promise<void> {
    try {
      const current = await this.d.client.getState(roomId, 'm.room.history_visibility', '', this.bot);
      if (current?.history_visibility === visibility) return;
      await this.d.client.putState(roomId, 'm.room.history_visibility', '', { history_visibility: visibility }, this.bot);
    } catch (err) {
      if (!refusedForGood(err)) throw err;
    }
  }

  /**
   * Puts a conversation's room where it belongs now: in its team's Space
   * while shared (history `shared`, every member invited), in its owner's
   * Space otherwise (history `invited`), and out of the other one.
   */
  async placeRoom(conversationId: string, previousTeamId: string | null = null): Promise<void> {
    const mapped = await this.d.rooms.byConversation(conversationId);
    if (!mapped || mapped.deleted) return;
    const roomId = mapped.room.roomId;
    const row = await this.d.conversations.get({ userId: mapped.ownerId, role: 'member', username: '' }, conversationId).catch(() => null);
    if (!row) return;
    const personal = await this.d.spaces.personalSpaceOf(mapped.ownerId);
    if (row.teamId) {
      const teamSpace = await this.ensureTeamSpace(row.teamId);
      if (personal) await this.link(personal, roomId, false);
      if (previousTeamId && previousTeamId !== row.teamId) await this.leaveTeam(roomId, previousTeamId, row.teamId);
      if (teamSpace) await this.link(teamSpace, roomId, true);
      await this.setHistory(roomId, 'shared');
      const owners = new Set(await this.d.matrixUsersOf(mapped.ownerId));
      const people = (await this.matrixIdsOf((await this.d.teams.membersOf(row.teamId)).map((m) => m.userId))).filter((p) => !owners.has(p));
      await this.setPeopleLevels(roomId, people);
      const invited = await this.inviteMissing(roomId, people);
      await this.d.spaces.recordInvites(roomId, row.teamId, invited);
    } else {
      if (previousTeamId) await this.leaveTeam(roomId, previousTeamId, null);
      if (personal) await this.link(personal, roomId, true);
      await this.setHistory(roomId, 'invited');
    }
  }

  /** The room leaves a team's Space; the people that team's share invited leave the room (unless the next team has them too). */
  private async leaveTeam(roomId: string, teamId: string, nextTeamId: string | null): Promise<void> {
    const spaceId = await this.d.spaces.teamSpaceOf(teamId);
    if (spaceId) await this.link(spaceId, roomId, false);
    const keep = nextTeamId ? new Set(await this.matrixIdsOf((await this.d.teams.membersOf(nextTeamId)).map((m) => m.userId))) : new Set<string>();
    const invitees = await this.d.spaces.invitesOf(roomId, teamId);
    const leaving = invitees.filter((p) => !keep.has(p));
    await this.removeFrom(roomId, leaving, 'This conversation is no longer shared with your team.');
    await this.setPeopleLevels(roomId, [], leaving);
    await this.d.spaces.forgetInvites(roomId, leaving);
    if (nextTeamId) await this.d.spaces.recordInvites(roomId, nextTeamId, invitees.filter((p) => keep.has(p)));
  }

  /** A conversation shared (or moved to another team). */
  shared(conversationId: string, previousTeamId: string | null): Promise<void> {
    return this.placeRoom(conversationId, previousTeamId ?? null);
  }

  /** A conversation no longer shared with `teamId`: back in its owner's Space, the share's invitees removed. */
  async unshared(conversationId: string, teamId: string): Promise<void> {
    return this.placeRoom(conversationId, teamId);
  }
}
