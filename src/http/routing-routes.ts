/**
 * /api/routing: rules (list, create, update, delete, reorder, per-user
 * disable of system rules) and /explain, which returns the routing decision
 * for a text without calling any model. Mount at path '/routing'.
 */
import { Router } from 'express';
import { z } from 'zod';
import { notFound } from '../errors.ts';
import type { Actor } from '../identity/actor.ts';
import type { RoutingService } from '../routing/routing-service.ts';
import type { AgentProfile, ModelRef } from '../routing/types.ts';
import { actorOf } from './auth.ts';
import { parseInput } from './validate.ts';

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

export function routingRouter(deps: RoutingRoutesDeps): Router {
  const r = Router();
  const store = deps.routing.rules;

  r.get('/rules', async (_req, res) => {
    res.json({ rules: await store.listVisible(actorOf(res)) });
  });
  r.post('/rules', async (req, res) => {
    res.status(201).json(await store.create(actorOf(res), req.body ?? {}));
  });
  // Declared before /rules/:id so "reorder" is never read as an id.
  r.post('/rules/reorder', async (req, res) => {
    res.json({ rules: await store.reorder(actorOf(res), req.body ?? {}) });
  });
  r.get('/rules/:id', async (req, res) => {
    res.json(await store.get(actorOf(res), parseInput(ruleId, req.params.id, 'id')));
  });
  r.patch('/rules/:id', async (req, res) => {
    res.json(await store.update(actorOf(res), parseInput(ruleId, req.params.id, 'id'), req.body ?? {}));
  });
  r.delete('/rules/:id', async (req, res) => {
    await store.remove(actorOf(res), parseInput(ruleId, req.params.id, 'id'));
    res.status(204).end();
  });
  r.post('/rules/:id/disable', async (req, res) => {
    await store.setDisabledForMe(actorOf(res), parseInput(ruleId, req.params.id, 'id'), true);
    res.status(204).end();
  });
  r.post('/rules/:id/enable', async (req, res) => {
    await store.setDisabledForMe(actorOf(res), parseInput(ruleId, req.params.id, 'id'), false);
    res.status(204).end();
  });

  r.post('/explain', async (req, res) => {
    const actor = actorOf(res);
    const body = parseInput(explainSchema, req.body ?? {});
    let state: ConversationRoutingState | null = null;
    if (body.conversationId) {
      state = deps.conversationState ? await deps.conversationState(actor, body.conversationId) : null;
      if (!state) throw notFound('conversation');
    }
    const channel = body.channel ?? state?.channel;
    const result = await deps.routing.route({
      userId: actor.userId,
      text: body.text,
      ...(body.attachments ? { attachments: body.attachments } : {}),
      ...(channel ? { channel } : {}),
      agent: state?.agent ?? null,
      pin: state?.pin ?? null,
      localOnly: state?.localOnly ?? false,
    });
    res.json(result);
  });
  return r;
}
