/**
 * The REST surface secondary clients use: conversations, their messages,
 * search, session info, agents and usage. Everything is scoped to the
 * token's user; another user's ids answer 404, never 403.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import type { ConversationService } from '../conversations/conversation-service.ts';
import { toView } from '../conversations/conversation-service.ts';
import { toConversation } from '../conversations/conversation-store.ts';
import { channelAttachmentSchema, type ChannelMessage } from '../protocol/channel-message.ts';
import { forbidden } from '../errors.ts';
import { actorOf } from './auth.ts';
import { parseInput, queryDate } from './validate.ts';

const page = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const id = (v: unknown) => parseInput(z.uuid({ message: 'expected a conversation id (uuid)' }), v, 'id');

const messageBody = z
  .object({
    content: z.string().max(100_000),
    contentType: z.enum(['text', 'markdown', 'code', 'image', 'file']).default('text'),
    attachments: z.array(channelAttachmentSchema).max(10).optional(),
    replyToId: z.uuid().optional(),
    /** Makes a retried POST idempotent. */
    clientMessageId: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((b) => b.content.trim().length > 0 || (b.attachments?.length ?? 0) > 0, { message: 'a message needs content or an attachment', path: ['content'] });

export function conversationRouter(service: ConversationService, options: { waitTimeoutMs?: number } = {}): Router {
  const r = Router();
  const { conversations } = service.stores;

  r.post('/', async (req, res) => {
    const body = parseInput(z.object({ title: z.string().max(200).optional(), agent: z.string().min(1).max(100).optional(), localOnly: z.boolean().optional() }).strict(), req.body ?? {});
    const created = await service.create(actorOf(res), body);
    res.status(201).json(created);
  });

  r.get('/', async (req, res) => {
    const q = parseInput(page.extend({ archived: z.enum(['true', 'false']).optional() }), req.query, 'query');
    const { items, total } = await conversations.list(actorOf(res), { limit: q.limit, offset: q.offset, ...(q.archived ? { archived: q.archived === 'true' } : {}) });
    res.json({ items: items.map(toConversation), total, limit: q.limit, offset: q.offset });
  });

  r.get('/search', async (req, res) => {
    const q = parseInput(z.object({ q: z.string().trim().min(1, 'search needs some words (q=…)').max(500), limit: z.coerce.number().int().min(1).max(100).default(20) }), req.query, 'query');
    res.json({ query: q.q, hits: await conversations.search(actorOf(res), q.q, q.limit) });
  });

  r.get('/:id', async (req, res) => {
    const actor = actorOf(res);
    const conv = await conversations.get(actor, id(req.params.id));
    res.json({ ...toConversation(conv), summary: conv.summary, lastRouting: conv.lastRouting });
  });

  r.patch('/:id', async (req, res) => {
    const body = parseInput(z.object({ title: z.string().max(200).optional(), archived: z.boolean().optional(), localOnly: z.boolean().optional() }).strict(), req.body ?? {});
    res.json(await service.update(actorOf(res), id(req.params.id), body));
  });

  r.delete('/:id', async (req, res) => {
    await service.remove(actorOf(res), id(req.params.id));
    res.status(204).end();
  });

  r.get('/:id/messages', async (req, res) => {
    const q = parseInput(z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.coerce.number().int().optional(), after: z.coerce.number().int().optional() }), req.query, 'query');
    const rows = await conversations.listMessages(actorOf(res), id(req.params.id), { limit: q.limit, ...(q.before !== undefined ? { beforeSeq: q.before } : {}), ...(q.after !== undefined ? { afterSeq: q.after } : {}) });
    res.json({ items: rows.map(toView) });
  });

  r.get('/:id/session', async (req, res) => {
    res.json(await service.sessionInfo(actorOf(res), id(req.params.id)));
  });

  r.post('/:id/messages', async (req, res) => {
    const actor = actorOf(res);
    const conversationId = id(req.params.id);
    const q = parseInput(z.object({ wait: z.enum(['true', 'false']).optional() }), req.query, 'query');
    const body = parseInput(messageBody, req.body);
    const msg: ChannelMessage = {
      id: randomUUID(),
      channelId: `api:${conversationId}`,
      senderId: actor.userId,
      senderType: 'user',
      content: body.content,
      contentType: body.contentType,
      metadata: { conversationId, ...(body.clientMessageId ? { channelMessageId: body.clientMessageId } : {}) },
      ...(body.replyToId ? { replyToId: body.replyToId } : {}),
      ...(body.attachments ? { attachments: body.attachments } : {}),
      timestamp: new Date(),
    };
    if (q.wait === 'true') {
      const { inbound, reply } = await service.receiveAndWait(actor, conversationId, msg, 'api', options.waitTimeoutMs ?? 120_000);
      res.status(reply ? 200 : 202).json({
        messageId: inbound.message.id,
        duplicate: !inbound.created,
        command: inbound.command ? { name: inbound.command.name, text: inbound.command.result.text, data: inbound.command.result.data ?? null } : null,
        reply: reply ? toView(reply) : null,
        routing: reply?.routing ?? null,
      });
      return;
    }
    const inbound = await service.receive(actor, conversationId, msg, 'api');
    res.status(202).json({
      messageId: inbound.message.id,
      duplicate: !inbound.created,
      scheduled: inbound.scheduled,
      command: inbound.command ? { name: inbound.command.name, text: inbound.command.result.text, data: inbound.command.result.data ?? null } : null,
    });
  });

  return r;
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
    /** Admins only: a system agent visible to everyone. */
    system: z.boolean().optional(),
  })
  .strict();

export function agentRouter(service: ConversationService): Router {
  const r = Router();
  const { agents } = service.stores;
  const agentId = (v: unknown) => parseInput(z.uuid({ message: 'expected an agent id (uuid)' }), v, 'id');
  r.get('/', async (_req, res) => {
    res.json({ items: await agents.list(actorOf(res)) });
  });
  r.post('/', async (req, res) => {
    const { system, ...body } = parseInput(agentBody, req.body);
    res.status(201).json(await agents.create(actorOf(res), body, { system: system ?? false }));
  });
  r.get('/:id', async (req, res) => {
    res.json(await agents.get(actorOf(res), agentId(req.params.id)));
  });
  r.patch('/:id', async (req, res) => {
    const { system: _system, ...body } = parseInput(agentBody.partial(), req.body ?? {});
    res.json(await agents.update(actorOf(res), agentId(req.params.id), body));
  });
  r.delete('/:id', async (req, res) => {
    await agents.remove(actorOf(res), agentId(req.params.id));
    res.status(204).end();
  });
  return r;
}

export function usageRouter(service: ConversationService): Router {
  const r = Router();
  const { sessions } = service.stores;
  r.get('/', async (req, res) => {
    const actor = actorOf(res);
    const q = parseInput(
      z.object({ since: queryDate.optional(), groupBy: z.enum(['agent', 'model', 'user']).optional(), scope: z.enum(['me', 'all']).default('me') }),
      req.query,
      'query',
    );
    if (q.scope === 'all' || q.groupBy === 'user') {
      if (actor.role !== 'admin') throw forbidden('usage of all users needs an admin token');
      res.json({ scope: 'all', groupBy: q.groupBy ?? 'user', items: await sessions.allUsageBy(q.groupBy === 'agent' ? 'agent' : 'user', q.since) });
      return;
    }
    const totals = await sessions.userUsage(actor, q.since);
    // The budget always counts this calendar month (UTC), whatever `since` asks for.
    const budget = await service.budget(actor);
    res.json({ scope: 'me', since: q.since ?? null, totals, budget, ...(q.groupBy ? { groupBy: q.groupBy, items: await sessions.usageBy(actor, q.groupBy as 'agent' | 'model', q.since) } : {}) });
  });
  return r;
}
