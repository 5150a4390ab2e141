/**
 * Teams over REST: create, list, change and delete teams, their members,
 * and sharing a conversation with a team. A team another user is not a
 * member of answers 404 (admins see and manage every team); a member asking
 * for an owner's change gets 403 naming who can. See docs/teams.md.
 */
import { z } from 'zod';
import type { TeamService } from '../teams/team-service.ts';
import { TEAM_ROLES } from '../teams/team-store.ts';
import { created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';

const teamRef = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9-]+$/, 'expected a team id (uuid) or slug')
    .describe('The team id (uuid) or its slug.'),
});
const memberRef = teamRef.extend({ username: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'expected a username') });
const budget = z.number().min(0).max(1_000_000_000).nullable().describe('USD per calendar month (UTC) that conversations shared with the team may draw on; null: no team budget.');

const team = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  monthlyBudgetUsd: z.number().nullable(),
  createdAt: z.string(),
  myRole: z.enum(TEAM_ROLES).nullable().describe('Your role; null for an admin who is not a member.'),
});
const member = z.object({ userId: z.uuid(), username: z.string(), displayName: z.string().nullable(), role: z.enum(TEAM_ROLES), joinedAt: z.string() });
const teamWithMembers = team.extend({ members: z.array(member) });

export function teamRoutes(teams: TeamService): RouteGroup[] {
  return [
    {
      path: '/teams',
      tag: 'Teams',
      description: 'Teams: people who share conversations. Members see the conversations shared with the team; owners (and admins) change it. A team you are not in answers 404.',
      routes: [
        defineRoute({
          method: 'post',
          path: '/',
          summary: 'Create a team (you become its owner)',
          auth: 'user',
          body: z
            .object({
              slug: z.string().min(2).max(40).describe('2–40 characters a-z, 0-9 or "-", starting with a letter or digit; unique.'),
              name: z.string().min(1).max(100).optional().describe('Shown in Matrix as the Space name; the slug otherwise.'),
              monthlyBudgetUsd: budget.optional(),
              owner: z.string().min(1).max(64).optional().describe('Admins only: make this user (by username) the first owner instead.'),
            })
            .strict(),
          responses: { 201: { description: 'The team with its members.', body: teamWithMembers } },
          handle: async ({ actor, body }) => created(await teams.create(actor, body)),
        }),
        defineRoute({
          method: 'get',
          path: '/',
          summary: 'Your teams (admins: every team with all=true)',
          auth: 'user',
          query: z.object({ all: z.enum(['true', 'false']).optional().describe('Every team (admins only; others get their own).') }),
          responses: { 200: { description: 'Teams by slug.', body: z.object({ items: z.array(team) }) } },
          handle: async ({ actor, query }) => ok({ items: await teams.list(actor, { all: query.all === 'true' }) }),
        }),
        defineRoute({
          method: 'get',
          path: '/:id',
          summary: 'One team with its members and budget',
          auth: 'user',
          params: teamRef,
          responses: { 200: { description: 'The team.', body: teamWithMembers } },
          handle: async ({ actor, params }) => ok(await teams.get(actor, params.id)),
        }),
        defineRoute({
          method: 'patch',
          path: '/:id',
          summary: "Rename a team or change its budget (owners, admins)",
          auth: 'user',
          params: teamRef,
          body: z.object({ name: z.string().min(1).max(100).optional(), monthlyBudgetUsd: budget.optional() }).strict(),
          responses: { 200: { description: 'The team as changed.', body: team } },
          handle: async ({ actor, params, body }) => ok(await teams.update(actor, params.id, body)),
        }),
        defineRoute({
          method: 'delete',
          path: '/:id',
          summary: 'Delete a team (owners, admins)',
          description: 'Its conversations stay their owners\' and are no longer shared; on Matrix its Space is closed and the shared rooms leave it.',
          auth: 'user',
          params: teamRef,
          responses: { 204: { description: 'Deleted.' } },
          handle: async ({ actor, params }) => {
            await teams.remove(actor, params.id);
            return noContent();
          },
        }),
        defineRoute({
          method: 'post',
          path: '/:id/members',
          summary: "Add a member, or change a member's role (owners, admins)",
          description: 'On Matrix the person is invited to the team\'s Space and to every conversation room shared with the team. The last owner cannot be made a plain member (409).',
          auth: 'user',
          params: teamRef,
          body: z.object({ username: z.string().min(1).max(64), role: z.enum(TEAM_ROLES).default('member') }).strict(),
          responses: {
            201: { description: 'Added.', body: z.object({ added: z.literal(true), member }) },
            200: { description: 'Was a member already (the role is as asked now).', body: z.object({ added: z.literal(false), member }) },
          },
          handle: async ({ actor, params, body }) => {
            const result = await teams.addMember(actor, params.id, { username: body.username }, body.role);
            return { status: result.added ? 201 : 200, body: { added: result.added, member: result.member } };
          },
        }),
        defineRoute({
          method: 'delete',
          path: '/:id/members/:username',
          summary: 'Remove a member (owners, admins; anyone may leave)',
          description: 'The last owner cannot be removed (409): make another owner first, or delete the team.',
          auth: 'user',
          params: memberRef,
          responses: { 204: { description: 'Removed (or was not a member).' } },
          handle: async ({ actor, params }) => {
            await teams.removeMember(actor, params.id, { username: params.username });
            return noContent();
          },
        }),
      ],
    },
    {
      path: '/conversations',
      tag: 'Teams',
      routes: [
        defineRoute({
          method: 'post',
          path: '/:id/share',
          summary: 'Share your conversation with one of your teams',
          description:
            "Its members then see it everywhere (list, messages, search, live events) and, on Matrix, are invited to its room, which moves to the team's Space. A conversation is shared with at most one team: sharing it with another moves it. Owner only: anyone else's conversation, or a team you are not in, answers 404.",
          auth: 'user',
          params: z.object({ id: z.uuid({ message: 'expected a conversation id (uuid)' }) }),
          body: z.object({ teamId: teamRef.shape.id.describe('The team id (uuid) or slug.') }).strict(),
          responses: { 200: { description: 'The conversation, with the team.' } },
          handle: async ({ actor, params, body }) => ok(await teams.share(actor, params.id, body.teamId)),
        }),
        defineRoute({
          method: 'delete',
          path: '/:id/share',
          summary: 'Stop sharing your conversation',
          description: 'Team members who saw it only through the team get 404 for it from now on; on Matrix they are removed from its room (people invited directly stay). Owner only.',
          auth: 'user',
          params: z.object({ id: z.uuid({ message: 'expected a conversation id (uuid)' }) }),
          responses: { 200: { description: 'The conversation, no longer shared.' } },
          handle: async ({ actor, params }) => ok(await teams.unshare(actor, params.id)),
        }),
      ],
    },
  ];
}
