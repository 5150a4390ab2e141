/**
 * Teams as people change them from any surface (REST, CLI, the Matrix bot):
 * the store's checks, then a `team-changed` job so the channels follow
 * (Space invites, shared rooms moving). Sharing a conversation is here too:
 * it is the one change that joins a conversation and a team.
 */
import type { Actor } from '../identity/actor.ts';
import type { UserStore } from '../identity/user-store.ts';
import type { ConversationApi } from '../conversations/conversation-api.ts';
import type { Conversation } from '../conversations/conversation-store.ts';
import { notFound } from '../errors.ts';
import type { TeamChange } from './team-events.ts';
import type { Team, TeamMember, TeamRole, TeamStore } from './team-store.ts';

export interface TeamWithMembers extends Team {
  members: TeamMember[];
}

export class TeamService {
  constructor(
    private readonly d: {
      teams: TeamStore;
      users: UserStore;
      conversations: Pick<ConversationApi, 'share'>;
      /** Queues the change for the channels (a job). */
      publish(change: TeamChange): Promise<void>;
    },
  ) {}

  get store(): TeamStore {
    return this.d.teams;
  }

  private async userIdOf(username: string): Promise<string> {
    const row = await this.d.users.findByUsername(username.toLowerCase());
    if (!row) throw notFound(`user "${username.slice(0, 64)}"`);
    return row.id;
  }

  private now(): string {
    return new Date().toISOString();
  }

  async create(actor: Actor, input: { slug: string; name?: string; monthlyBudgetUsd?: number | null; owner?: string }): Promise<TeamWithMembers> {
    const ownerId = input.owner !== undefined ? await this.userIdOf(input.owner) : undefined;
    const team = await this.d.teams.create(actor, { slug: input.slug, ...(input.name !== undefined ? { name: input.name } : {}), ...(input.monthlyBudgetUsd !== undefined ? { monthlyBudgetUsd: input.monthlyBudgetUsd } : {}), ...(ownerId ? { ownerId } : {}) });
    await this.d.publish({ change: 'team-created', teamId: team.id, at: this.now() });
    return { ...team, members: await this.d.teams.membersOf(team.id) };
  }

  list(actor: Actor, options: { all?: boolean } = {}): Promise<Team[]> {
    return this.d.teams.list(actor, options);
  }

  async get(actor: Actor, ref: string): Promise<TeamWithMembers> {
    const team = await this.d.teams.get(actor, ref);
    return { ...team, members: await this.d.teams.membersOf(team.id) };
  }

  update(actor: Actor, ref: string, patch: { name?: string; monthlyBudgetUsd?: number | null }): Promise<Team> {
    return this.d.teams.update(actor, ref, patch);
  }

  async remove(actor: Actor, ref: string): Promise<Team> {
    const { team, members, sharedConversationIds } = await this.d.teams.remove(actor, ref);
    await this.d.publish({ change: 'team-deleted', teamId: team.id, memberIds: members.map((m) => m.userId), conversationIds: sharedConversationIds, at: this.now() });
    return team;
  }

  async addMember(actor: Actor, ref: string, who: { username?: string; userId?: string }, role: TeamRole = 'member'): Promise<{ team: Team; added: boolean; member: TeamMember }> {
    const userId = who.userId ?? (await this.userIdOf(who.username ?? ''));
    const result = await this.d.teams.addMember(actor, ref, userId, role);
    if (result.added) await this.d.publish({ change: 'member-added', teamId: result.team.id, userId, at: this.now() });
    return result;
  }

  async removeMember(actor: Actor, ref: string, who: { username?: string; userId?: string }): Promise<{ team: Team; removed: boolean }> {
    const userId = who.userId ?? (await this.userIdOf(who.username ?? ''));
    const result = await this.d.teams.removeMember(actor, ref, userId);
    if (result.removed) await this.d.publish({ change: 'member-removed', teamId: result.team.id, userId, at: this.now() });
    return result;
  }

  /** Shares one of the actor's conversations with a team of theirs (by id or slug); it leaves the team it was shared with. */
  async share(actor: Actor, conversationId: string, teamRef: string): Promise<Conversation & { team: { id: string; slug: string; name: string } }> {
    const team = await this.d.teams.get(actor, teamRef);
    const { conversation, previousTeamId } = await this.d.conversations.share(actor, conversationId, team.id);
    if (previousTeamId !== team.id) await this.d.publish({ change: 'shared', teamId: team.id, conversationId, previousTeamId, at: this.now() });
    return { ...conversation, team: { id: team.id, slug: team.slug, name: team.name } };
  }

  /** Stops sharing one of the actor's conversations; the members who saw it only through the team lose it. */
  async unshare(actor: Actor, conversationId: string): Promise<Conversation> {
    const { conversation, previousTeamId } = await this.d.conversations.share(actor, conversationId, null);
    if (previousTeamId) await this.d.publish({ change: 'unshared', teamId: previousTeamId, conversationId, at: this.now() });
    return conversation;
  }
}
