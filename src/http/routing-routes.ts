/**
 * /api/routing: rules (list, create, update, delete, reorder, per-user
 * disable of system rules) and /explain, which returns the routing decision
 * for a text without calling any model. Mount at path '/routing'.
 */
import { z } from 'zod';
import { notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { AgentProfile, ModelRef } from '../routing/types.ts';
import { createRuleSchema, reorderSchema, updateRuleSchema } from '../routing/rule-schema.ts';
import { created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';

/** What a conversation contributes to routing: its /model pin, data policy, active agent and channel. */
export interface ConversationRoutingState {
  pin: ModelRef | null;
  localOnly: boolean;
  agent?: AgentProfile | null;
  channel?: string;
}

/** Returns null when the conversation does not exist or is not the actor's. */
export type ConversationStateLookup = (actor: Actor, conversationId: string) => Promise<ConversationRoutingState | null>;

export interface RoutingRoutesDeps {
  routing: RoutingService;
  conversationState?: ConversationStateLookup;
}

const ruleId = z.uuid('must be a rule id (uuid)');

const explainSchema = z
  .object({
    text: z.string({ error: 'text is required: the message to route' }).min(1, 'text must not be empty'),
    conversationId: z.uuid('must be a conversation id (uuid)').optional(),
    channel: z.string().min(1).max(50).optional(),
    attachments: z
      .array(z.object({ name: z.string().min(1).max(300), mimeType: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, 'expected a MIME type such as image/png'), sizeBytes: z.number().int().min(0).optional() }).strict())
      .max(50)
      .optional(),
  })
  .strict();

const ruleParams = z.object({ id: ruleId });

export function routingRoutes(deps: RoutingRoutesDeps): RouteGroup {
  const store = deps.routing.rules;
  return {
    path: '/routing',
    tag: 'Routing',
    description: 'The rules that choose a model for each message (yours, and the system rules admins manage), and explanations of decisions.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/rules',
        summary: 'The rules that apply to you, in the order they are tried',
        auth: 'user',
        responses: { 200: { description: 'Your rules and the system rules, with whether you disabled each system rule for yourself.' } },
        handle: async ({ actor }) => ok({ rules: await store.listVisible(actor) }),
      }),
      defineRoute({
        method: 'post',
        path: '/rules',
        summary: 'Create a rule (`scope: "system"` needs an admin)',
        auth: 'user',
        body: createRuleSchema,
        responses: { 201: { description: 'The rule.' } },
        handle: async ({ actor, body }) => created(await store.create(actor, body)),
      }),
      // Declared before /rules/:id so "reorder" is never read as an id.
      defineRoute({
        method: 'post',
        path: '/rules/reorder',
        summary: 'Put your rules (or, for admins, the system rules) in a new order',
        auth: 'user',
        body: reorderSchema,
        responses: { 200: { description: 'The rules in their new order.' } },
        handle: async ({ actor, body }) => ok({ rules: await store.reorder(actor, body) }),
      }),
      defineRoute({
        method: 'get',
        path: '/rules/:id',
        summary: 'One rule',
        auth: 'user',
        params: ruleParams,
        responses: { 200: { description: 'The rule.' } },
        handle: async ({ actor, params }) => ok(await store.get(actor, params.id)),
      }),
      defineRoute({
        method: 'patch',
        path: '/rules/:id',
        summary: 'Change a rule',
        auth: 'user',
        params: ruleParams,
        body: updateRuleSchema,
        responses: { 200: { description: 'The rule as changed.' } },
        handle: async ({ actor, params, body }) => ok(await store.update(actor, params.id, body)),
      }),
      defineRoute({
        method: 'delete',
        path: '/rules/:id',
        summary: 'Delete a rule',
        auth: 'user',
        params: ruleParams,
        responses: { 204: { description: 'Deleted.' } },
        handle: async ({ actor, params }) => {
          await store.remove(actor, params.id);
          return noContent();
        },
      }),
      defineRoute({
        method: 'post',
        path: '/rules/:id/disable',
        summary: 'Stop a system rule applying to you',
        auth: 'user',
        params: ruleParams,
        responses: { 204: { description: 'Disabled for you.' } },
        handle: async ({ actor, params }) => {
          await store.setDisabledForMe(actor, params.id, true);
          return noContent();
        },
      }),
      defineRoute({
        method: 'post',
        path: '/rules/:id/enable',
        summary: 'Let a system rule apply to you again',
        auth: 'user',
        params: ruleParams,
        responses: { 204: { description: 'Enabled for you.' } },
        handle: async ({ actor, params }) => {
          await store.setDisabledForMe(actor, params.id, false);
          return noContent();
        },
      }),
      defineRoute({
        method: 'post',
        path: '/explain',
        summary: 'Which model a text would be routed to, and why (no model is called)',
        auth: 'user',
        body: explainSchema,
        responses: { 200: { description: 'The routing decision: model, rule, classification, skipped fallbacks, or a refusal.' } },
        handle: async ({ actor, body }) => {
          let state: ConversationRoutingState | null = null;
          if (body.conversationId) {
            state = deps.conversationState ? await deps.conversationState(actor, body.conversationId) : null;
            if (!state) throw notFound('conversation');
          }
          const channel = body.channel ?? state?.channel;
          return ok(
            await deps.routing.route({
              userId: actor.userId,
              text: body.text,
              ...(body.attachments ? { attachments: body.attachments } : {}),
              ...(channel ? { channel } : {}),
              agent: state?.agent ?? null,
              pin: state?.pin ?? null,
              localOnly: state?.localOnly ?? false,
            }),
          );
        },
      }),
    ],
  };
}
