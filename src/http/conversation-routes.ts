/**
 * The REST surface secondary clients use: conversations, their messages,
 * search, session info, agents and usage. Everything is scoped to the
 * token's user; another user's ids answer 404, never 403.
 */
import { z } from 'zod';
import type { ConversationServices } from '../conversations/conversation-services.ts';
import { toView } from '../conversations/conversation-events.ts';
import { toConversation } from '../conversations/conversation-store.ts';
import { badRequest, forbidden } from '../errors.ts';
import { queryDate } from './validate.ts';
import { accepted, created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';
import { API_CHANNEL, intakeResult, messageBody, toChannelMessage } from './message-intake.ts';
import type { RetentionPolicies } from '../retention/retention-policies.ts';

const page = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const conversationId = z.object({ id: z.uuid({ message: 'expected a conversation id (uuid)' }) });

const commandResult = z.object({ name: z.string(), text: z.string(), data: z.unknown() }).nullable().describe('Set when the message was a command (`/help`, `!model …`): its answer.');

export function conversationRoutes(service: ConversationServices, options: { waitTimeoutMs?: number; retention?: RetentionPolicies } = {}): RouteGroup {
  const { conversations } = service.stores;
  const retention = options.retention;
  return {
    path: '/conversations',
    tag: 'Conversations',
    description: 'Your conversations and their messages; the same conversations Matrix rooms and the clients show. Another user\'s ids answer 404.',
    routes: [
      defineRoute({
        method: 'post',
        path: '/',
        summary: 'Start a conversation',
        auth: 'user',
        body: z
          .object({
            title: z.string().max(200).optional(),
            agent: z.string().min(1).max(100).optional().describe('Agent id or name; the default agent otherwise.'),
            localOnly: z.boolean().optional().describe('Keep this conversation on local models.'),
          })
          .strict(),
        responses: { 201: { description: 'The conversation.' } },
        handle: async ({ actor, body }) => created(await service.api.create(actor, body)),
      }),
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'List your conversations, newest first',
        auth: 'user',
        query: page.extend({ archived: z.enum(['true', 'false']).optional().describe('Only archived (true) or only active (false) ones.') }),
        responses: { 200: { description: 'One page of conversations and the total.' } },
        handle: async ({ actor, query }) => {
          const { items, total } = await conversations.list(actor, { limit: query.limit, offset: query.offset, ...(query.archived ? { archived: query.archived === 'true' } : {}) });
          return ok({ items: items.map((c) => toConversation(c, actor)), total, limit: query.limit, offset: query.offset });
        },
      }),
      defineRoute({
        method: 'get',
        path: '/search',
        summary: 'Search your messages',
        auth: 'user',
        query: z.object({ q: z.string().trim().min(1, 'search needs some words (q=…)').max(500), limit: z.coerce.number().int().min(1).max(100).default(20) }),
        responses: { 200: { description: 'Matching messages with their conversations.' } },
        handle: async ({ actor, query }) => ok({ query: query.q, hits: await conversations.search(actor, query.q, query.limit) }),
      }),
      defineRoute({
        method: 'get',
        path: '/:id',
        summary: 'One conversation, with its summary and last routing decision',
        auth: 'user',
        params: conversationId,
        responses: { 200: { description: 'The conversation.' } },
        handle: async ({ actor, params }) => {
          const conv = await conversations.get(actor, params.id);
          return ok({ ...toConversation(conv, actor), summary: conv.summary, lastRouting: conv.lastRouting, ...(retention && conv.ownerId === actor.userId ? { retention: await retention.forOwner(actor, params.id) } : {}) });
        },
      }),
      defineRoute({
        method: 'patch',
        path: '/:id',
        summary: 'Rename, archive, change the data policy or shorten the retention of a conversation',
        auth: 'user',
        params: conversationId,
        body: z
          .object({
            title: z.string().max(200).optional(),
            archived: z.boolean().optional(),
            localOnly: z.boolean().optional(),
            retentionDays: z
              .union([z.number().int().min(1).max(36_500), z.null()])
              .optional()
              .describe('Your own limit: messages older than this many days are deleted (here and on Matrix). It can only shorten the policy that applies; null removes your limit.'),
          })
          .strict(),
        responses: { 200: { description: 'The conversation as changed (with `retention` when retentionDays was given).' } },
        handle: async ({ actor, params, body }) => {
          const { retentionDays, ...patch } = body;
          if (retentionDays !== undefined && !retention) throw badRequest('retention is not available on this server');
          const conv = await service.api.update(actor, params.id, patch);
          const policy = retentionDays !== undefined ? await retention!.setOwnerDays(actor, params.id, retentionDays) : undefined;
          return ok({ ...conv, ...(policy ? { retention: policy } : {}) });
        },
      }),
      defineRoute({
        method: 'delete',
        path: '/:id',
        summary: 'Delete a conversation and its messages',
        auth: 'user',
        params: conversationId,
        responses: { 204: { description: 'Deleted.' } },
        handle: async ({ actor, params }) => {
          await service.api.remove(actor, params.id);
          return noContent();
        },
      }),
      defineRoute({
        method: 'get',
        path: '/:id/messages',
        summary: 'Messages of a conversation, by sequence number',
        auth: 'user',
        params: conversationId,
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          before: z.coerce.number().int().optional().describe('Only messages before this sequence number.'),
          after: z.coerce.number().int().optional().describe('Only messages after this sequence number.'),
        }),
        responses: { 200: { description: 'The messages, oldest first.' } },
        handle: async ({ actor, params, query }) => {
          const rows = await conversations.listMessages(actor, params.id, { limit: query.limit, ...(query.before !== undefined ? { beforeSeq: query.before } : {}), ...(query.after !== undefined ? { afterSeq: query.after } : {}) });
          return ok({ items: rows.map(toView) });
        },
      }),
      defineRoute({
        method: 'get',
        path: '/:id/session',
        summary: 'The current session: agent, model, tokens and cost so far',
        auth: 'user',
        params: conversationId,
        responses: { 200: { description: 'The session.' } },
        handle: async ({ actor, params }) => ok(await service.sessionInfo.get(actor, params.id)),
      }),
      defineRoute({
        method: 'post',
        path: '/:id/messages',
        summary: 'Send a message (or a command); optionally wait for the answer',
        description:
          'A message is stored, then answered by the agent (a background job). The conversation\'s owner may post, and so may a member of the team it is shared with (stored with who wrote it, answered and billed as them: docs/teams.md); anyone else gets 404. A command (`/help`, `!model …`; `/` and `!` are the same) is answered at once and never reaches a model; an unknown one answers "unknown command". With `wait=true` the request waits (up to 120 s) for the answer: 200 with it, or 202 without.',
        auth: 'user',
        params: conversationId,
        query: z.object({ wait: z.enum(['true', 'false']).optional().describe('Wait for the answer.') }),
        body: messageBody,
        responses: {
          200: { description: 'With wait=true: the message was answered (`reply`, with `routing`), or it was a command (`command`).', body: z.object({ messageId: z.uuid(), duplicate: z.boolean(), command: commandResult, reply: z.unknown(), routing: z.unknown() }) },
          202: { description: 'Stored; the answer comes later (in the conversation\'s messages).', body: z.object({ messageId: z.uuid(), duplicate: z.boolean(), scheduled: z.boolean().optional(), command: commandResult }) },
        },
        handle: async ({ actor, params, query, body }) => {
          const msg = toChannelMessage(actor, params.id, body);
          if (query.wait === 'true') {
            const { inbound, reply } = await service.inbound.receiveAndWait(actor, params.id, msg, API_CHANNEL, options.waitTimeoutMs ?? 120_000);
            const { scheduled: _scheduled, ...result } = intakeResult(inbound);
            return { status: reply ? 200 : 202, body: { ...result, reply, routing: reply?.routing ?? null } };
          }
          return accepted(intakeResult(await service.inbound.receive(actor, params.id, msg, API_CHANNEL)));
        },
      }),
    ],
  };
}

const agentBody = z
  .object({
    name: z.string().min(1).max(40),
    displayName: z.string().min(1).max(100).optional(),
    description: z.string().max(1000).optional(),
    systemPrompt: z.string().min(1).max(50_000),
    provider: z.enum(['anthropic', 'openai', 'openrouter', 'zai', 'ollama']).nullable().optional(),
    model: z.string().min(1).max(200).nullable().optional(),
    tools: z.array(z.string().max(100)).max(50).optional(),
    skills: z.array(z.string().max(100)).max(50).optional(),
    capabilities: z.object({ domains: z.array(z.string()).optional(), preferredModels: z.array(z.string()).optional(), taskTypes: z.array(z.string()).optional() }).strict().optional(),
    avatarUrl: z.string().max(2000).nullable().optional(),
    delegatesTo: z
      .array(z.string().min(1).max(100))
      .max(20)
      .optional()
      .describe('Agents (names or ids) this agent may hand tasks to with its `delegate` and `ask_agent` tools; stored as ids. A system agent may only name system agents. See docs/agents.md.'),
    /** Admins only: a system agent visible to everyone. */
    system: z.boolean().optional(),
  })
  .strict();

export function agentRoutes(service: ConversationServices): RouteGroup {
  const { agents } = service.stores;
  const agentId = z.object({ id: z.uuid({ message: 'expected an agent id (uuid)' }) });
  return {
    path: '/agents',
    tag: 'Agents',
    description: 'The agents you can talk to: the system agents and your own.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Agents you can use',
        auth: 'user',
        responses: { 200: { description: 'System agents and your own.' } },
        handle: async ({ actor }) => ok({ items: await agents.list(actor) }),
      }),
      defineRoute({
        method: 'post',
        path: '/',
        summary: 'Create an agent',
        auth: 'user',
        body: agentBody,
        responses: { 201: { description: 'The agent.' } },
        handle: async ({ actor, body }) => {
          const { system, ...rest } = body;
          return created(await agents.create(actor, rest, { system: system ?? false }));
        },
      }),
      defineRoute({
        method: 'get',
        path: '/:id',
        summary: 'One agent',
        auth: 'user',
        params: agentId,
        responses: { 200: { description: 'The agent.' } },
        handle: async ({ actor, params }) => ok(await agents.get(actor, params.id)),
      }),
      defineRoute({
        method: 'patch',
        path: '/:id',
        summary: 'Change one of your agents (admins: system agents too)',
        auth: 'user',
        params: agentId,
        body: agentBody.partial(),
        responses: { 200: { description: 'The agent as changed.' } },
        handle: async ({ actor, params, body }) => {
          const { system: _system, ...rest } = body;
          return ok(await agents.update(actor, params.id, rest));
        },
      }),
      defineRoute({
        method: 'delete',
        path: '/:id',
        summary: 'Delete one of your agents',
        auth: 'user',
        params: agentId,
        responses: { 204: { description: 'Deleted.' } },
        handle: async ({ actor, params }) => {
          await agents.remove(actor, params.id);
          return noContent();
        },
      }),
    ],
  };
}

export function usageRoutes(service: ConversationServices): RouteGroup {
  const { sessions } = service.stores;
  return {
    path: '/usage',
    tag: 'Usage',
    description: 'Tokens and cost, and your monthly budget.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Your usage and budget (admins: everyone\'s)',
        auth: 'user',
        query: z.object({
          since: queryDate.optional().describe('ISO date; default: everything.'),
          groupBy: z.enum(['agent', 'model', 'user']).optional(),
          scope: z.enum(['me', 'all']).default('me').describe('all: every user (admins only).'),
        }),
        responses: { 200: { description: 'Totals, the budget standing this calendar month (UTC), and the grouped items when asked.' } },
        handle: async ({ actor, query: q }) => {
          if (q.scope === 'all' || q.groupBy === 'user') {
            if (actor.role !== 'admin') throw forbidden('usage of all users needs an admin token');
            return ok({ scope: 'all', groupBy: q.groupBy ?? 'user', items: await sessions.allUsageBy(q.groupBy === 'agent' ? 'agent' : 'user', q.since) });
          }
          const totals = await sessions.userUsage(actor, q.since);
          // The budget always counts this calendar month (UTC), whatever `since` asks for.
          const budget = await service.api.budget(actor);
          return ok({ scope: 'me', since: q.since ?? null, totals, budget, ...(q.groupBy ? { groupBy: q.groupBy, items: await sessions.usageBy(actor, q.groupBy as 'agent' | 'model', q.since) } : {}) });
        },
      }),
    ],
  };
}
