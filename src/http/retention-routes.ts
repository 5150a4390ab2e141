/**
 * /api/admin/retention: how long messages are kept, per room kind and per
 * conversation (admins). The same operations as `mosaic retention …`.
 * People shorten their own conversations' retention with
 * PATCH /api/conversations/:id (`retentionDays`).
 */
import { z } from 'zod';
import type { RetentionPolicies } from '../retention/retention-policies.ts';
import { ROOM_KINDS } from '../retention/room-kind.ts';
import { daysSetting } from '../retention/days-setting.ts';
import { defineRoute, ok, type RouteGroup } from './route-spec.ts';


const putBody = z.discriminatedUnion('scope', [
  z.object({ scope: z.literal('kind'), kind: z.enum(ROOM_KINDS), days: daysSetting }).strict(),
  z.object({ scope: z.literal('conversation'), conversationId: z.uuid({ message: 'expected a conversation id (uuid)' }), days: daysSetting }).strict(),
]);

export function retentionRoutes(policies: RetentionPolicies): RouteGroup {
  return {
    path: '/admin/retention',
    tag: 'Admin: retention',
    description: 'How long messages are kept: defaults per room kind (from config), admin overrides per kind and per conversation. The retention-purge job applies them to the database and the homeserver together. Memories are never purged by it.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'The retention policies, or one conversation\'s',
        auth: 'admin',
        query: z.object({ conversationId: z.uuid({ message: 'expected a conversation id (uuid)' }).optional().describe('Show the policy that applies to this conversation.') }).strict(),
        responses: { 200: { description: '`kinds` (days, source, configured default) and the conversation overrides; with conversationId, that conversation\'s effective policy.' } },
        handle: async ({ query }) => ok(query.conversationId ? await policies.forConversation(query.conversationId) : await policies.view()),
      }),
      defineRoute({
        method: 'put',
        path: '/',
        summary: 'Set or remove the retention of a room kind or of one conversation',
        auth: 'admin',
        body: putBody,
        responses: { 200: { description: 'The policies after the change (for a conversation: its effective policy).' } },
        handle: async ({ body }) => {
          if (body.scope === 'kind') {
            await policies.setKind(body.kind, body.days);
            return ok(await policies.view());
          }
          return ok(await policies.setConversation(body.conversationId, body.days));
        },
      }),
    ],
  };
}
