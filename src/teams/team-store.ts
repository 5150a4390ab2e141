/**
 * Teams and their members. A team is seen only by its members (and admins,
 * who manage every team); it is changed by its owners (and admins). Anyone
 * else gets "not found", as for any other row they do not own.
 */
import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { conversations, teamMembers, teams, users } from '../db/schema.ts';
import { isUuid } from '../db/uuid.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';
import { isAdmin, type Actor } from '../identity/actor.ts';

export type TeamRole = 'owner' | 'member';
export const TEAM_ROLES = ['owner', 'member'] as const;
export const TEAM_SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{1,39}$/;
export const MAX_TEAM_NAME = 100;

/** The operator at the command line (`mosaic team …`): an admin who is nobody's account, so a member of no team. */
export const OPERATOR: Actor = { userId: '00000000-0000-0000-0000-000000000000', role: 'admin', username: 'operator' };

export interface Team {
  id: string;
  slug: string;
  name: string;
  /** USD per calendar month (UTC) that conversations shared with the team draw on; null: none. */
  monthlyBudgetUsd: number | null;
  createdAt: Date;
  /** The acting user's role in the team; null for an admin who is not a member. */
  myRole: TeamRole | null;
}

export interface TeamMember {
  userId: string;
  username: string;
  displayName: string | null;
  role: TeamRole;
  joinedAt: Date;
}

type TeamRow = typeof teams.$inferSelect;

const toTeam = (row: TeamRow, myRole: TeamRole | null): Team => ({ id: row.id, slug: row.slug, name: row.name, monthlyBudgetUsd: row.monthlyBudgetUsd, createdAt: row.createdAt, myRole });

function cleanName(name: string): string {
  const n = name.replace(/\s+/g, ' ').trim();
  if (!n) throw badRequest('a team name cannot be empty');
  if (n.length > MAX_TEAM_NAME) throw badRequest(`a team name is at most ${MAX_TEAM_NAME} characters`);
  return n;
}

function checkBudget(usd: number | null | undefined): void {
  if (usd === null || usd === undefined) return;
  if (!Number.isFinite(usd) || usd < 0 || usd > 1_000_000_000) throw badRequest('a team budget is a number of USD from 0 to 1000000000 (or null for none)');
}

/** The team by id or slug, with the acting user's role in it (null when not a member). */
const byRef = (ref: string) => (isUuid(ref) ? eq(teams.id, ref) : eq(teams.slug, ref.toLowerCase()));

export class TeamStore {
  constructor(private readonly db: Db) {}

  /** A new team; `ownerId` (admins only: someone else) becomes its first owner, the actor otherwise. */
  async create(actor: Actor, input: { slug: string; name?: string; monthlyBudgetUsd?: number | null; ownerId?: string }): Promise<Team> {
    const slug = input.slug.toLowerCase();
    if (!TEAM_SLUG_PATTERN.test(slug)) throw badRequest(`team slug "${input.slug.slice(0, 50)}" is not allowed: use 2–40 characters a-z, 0-9 or '-', starting with a letter or digit`);
    checkBudget(input.monthlyBudgetUsd);
    const ownerId = input.ownerId ?? actor.userId;
    if (ownerId !== actor.userId && !isAdmin(actor)) throw forbidden('only admins create a team for someone else');
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(teams)
        .values({ slug, name: cleanName(input.name ?? slug), monthlyBudgetUsd: input.monthlyBudgetUsd ?? null })
        .onConflictDoNothing()
        .returning();
      if (!row) throw conflict(`a team "${slug}" already exists; pick another slug`);
      await tx.insert(teamMembers).values({ teamId: row.id, userId: ownerId, role: 'owner' });
      return toTeam(row, ownerId === actor.userId ? 'owner' : null);
    });
  }

  /** The actor's teams; an admin asking for `all` gets every team. */
  async list(actor: Actor, options: { all?: boolean } = {}): Promise<Team[]> {
    if (options.all && isAdmin(actor)) {
      const rows = await this.db
        .select({ t: teams, role: teamMembers.role })
        .from(teams)
        .leftJoin(teamMembers, and(eq(teamMembers.teamId, teams.id), eq(teamMembers.userId, actor.userId)))
        .orderBy(asc(teams.slug));
      return rows.map((r) => toTeam(r.t, r.role));
    }
    const rows = await this.db.select({ t: teams, role: teamMembers.role }).from(teams).innerJoin(teamMembers, eq(teamMembers.teamId, teams.id)).where(eq(teamMembers.userId, actor.userId)).orderBy(asc(teams.slug));
    return rows.map((r) => toTeam(r.t, r.role));
  }

  /** One team (by id or slug) the actor may see: a member's, or any for an admin. */
  async get(actor: Actor, ref: string): Promise<Team> {
    const [row] = await this.db
      .select({ t: teams, role: teamMembers.role })
      .from(teams)
      .leftJoin(teamMembers, and(eq(teamMembers.teamId, teams.id), eq(teamMembers.userId, actor.userId)))
      .where(byRef(ref))
      .limit(1);
    if (!row || (row.role === null && !isAdmin(actor))) throw notFound('team');
    return toTeam(row.t, row.role);
  }

  /** The team, when the actor may change it (an owner or an admin); a plain member is told who can. */
  private async managed(actor: Actor, ref: string): Promise<Team> {
    const team = await this.get(actor, ref);
    if (team.myRole !== 'owner' && !isAdmin(actor)) throw forbidden(`only the owners of team "${team.slug}" (or an admin) can change it`);
    return team;
  }

  async members(actor: Actor, ref: string): Promise<TeamMember[]> {
    const team = await this.get(actor, ref);
    return this.membersOf(team.id);
  }

  async update(actor: Actor, ref: string, patch: { name?: string; monthlyBudgetUsd?: number | null }): Promise<Team> {
    const team = await this.managed(actor, ref);
    checkBudget(patch.monthlyBudgetUsd);
    const values: Partial<typeof teams.$inferInsert> = {};
    if (patch.name !== undefined) values.name = cleanName(patch.name);
    if (patch.monthlyBudgetUsd !== undefined) values.monthlyBudgetUsd = patch.monthlyBudgetUsd;
    if (Object.keys(values).length === 0) return team;
    const [row] = await this.db.update(teams).set(values).where(eq(teams.id, team.id)).returning();
    if (!row) throw notFound('team');
    return toTeam(row, team.myRole);
  }

  /** Deletes the team; its conversations are no longer shared (their rows stay their owners'). Returns the members it had. */
  async remove(actor: Actor, ref: string): Promise<{ team: Team; members: TeamMember[]; sharedConversationIds: string[] }> {
    const team = await this.managed(actor, ref);
    const members = await this.membersOf(team.id);
    const shared = await this.db.select({ id: conversations.id }).from(conversations).where(eq(conversations.teamId, team.id));
    await this.db.delete(teams).where(eq(teams.id, team.id));
    return { team, members, sharedConversationIds: shared.map((s) => s.id) };
  }

  /**
   * Adds a member, or changes a member's role. Owners and admins only. The
   * last owner cannot become a plain member (the team would have nobody to
   * manage it).
   */
  async addMember(actor: Actor, ref: string, userId: string, role: TeamRole = 'member'): Promise<{ team: Team; added: boolean; member: TeamMember }> {
    const team = await this.managed(actor, ref);
    if (!isUuid(userId)) throw notFound('user');
    return this.db.transaction(async (tx) => {
      // Members are changed one at a time per team: the last-owner check below sees every earlier change.
      await tx.select({ id: teams.id }).from(teams).where(eq(teams.id, team.id)).for('update');
      const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).limit(1);
      if (!user) throw notFound('user');
      const [existing] = await tx.select().from(teamMembers).where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, userId))).limit(1);
      if (existing) {
        if (existing.role !== role) {
          if (existing.role === 'owner' && (await this.ownerCount(tx, team.id)) <= 1) throw conflict(`that is the last owner of team "${team.slug}": make someone else an owner first`);
          await tx.update(teamMembers).set({ role }).where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, userId)));
        }
      } else {
        await tx.insert(teamMembers).values({ teamId: team.id, userId, role });
      }
      const member = (await this.membersOf(team.id, tx)).find((m) => m.userId === userId)!;
      return { team, added: !existing, member };
    });
  }

  /**
   * Removes a member. Owners and admins may remove anyone; a member may
   * leave. The last owner stays (delete the team instead). False when the
   * person was not a member.
   */
  async removeMember(actor: Actor, ref: string, userId: string): Promise<{ team: Team; removed: boolean }> {
    const team = userId === actor.userId ? await this.get(actor, ref) : await this.managed(actor, ref);
    if (!isUuid(userId)) return { team, removed: false };
    return this.db.transaction(async (tx) => {
      await tx.select({ id: teams.id }).from(teams).where(eq(teams.id, team.id)).for('update');
      const [existing] = await tx.select().from(teamMembers).where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, userId))).limit(1);
      if (!existing) return { team, removed: false };
      if (existing.role === 'owner' && (await this.ownerCount(tx, team.id)) <= 1) throw conflict(`that is the last owner of team "${team.slug}": make someone else an owner first, or delete the team`);
      await tx.delete(teamMembers).where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, userId)));
      return { team, removed: true };
    });
  }

  private async ownerCount(tx: Pick<Db, 'select'>, teamId: string): Promise<number> {
    const [row] = await tx.select({ n: count() }).from(teamMembers).where(and(eq(teamMembers.teamId, teamId), eq(teamMembers.role, 'owner')));
    return row?.n ?? 0;
  }

  /** A team's members, for the channels that invite them (no content; keyed by a team id the caller already resolved). */
  async membersOf(teamId: string, tx: Pick<Db, 'select'> = this.db): Promise<TeamMember[]> {
    if (!isUuid(teamId)) return [];
    return tx
      .select({ userId: teamMembers.userId, username: users.username, displayName: users.displayName, role: teamMembers.role, joinedAt: teamMembers.joinedAt })
      .from(teamMembers)
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .where(eq(teamMembers.teamId, teamId))
      .orderBy(asc(users.username));
  }

  /** A team's slug and name by id, for channels (names only). */
  async describe(teamIds: string[]): Promise<Array<{ id: string; slug: string; name: string }>> {
    const ids = teamIds.filter(isUuid);
    if (ids.length === 0) return [];
    return this.db.select({ id: teams.id, slug: teams.slug, name: teams.name }).from(teams).where(inArray(teams.id, ids));
  }

  /** Every team id (the channels' repair pass walks them); ids only. */
  async allIds(): Promise<string[]> {
    const rows = await this.db.select({ id: teams.id }).from(teams).orderBy(asc(teams.createdAt));
    return rows.map((r) => r.id);
  }

  /** The conversations shared with a team (ids and owners only; every read after acts as a member). */
  async sharedConversations(teamId: string): Promise<Array<{ id: string; ownerId: string }>> {
    if (!isUuid(teamId)) return [];
    return this.db.select({ id: conversations.id, ownerId: conversations.ownerId }).from(conversations).where(and(eq(conversations.teamId, teamId), sql`${conversations.deletedAt} is null`));
  }
}
