/** memory_save, memory_search, memory_get: what an agent remembers for the acting user. */
import { z } from 'zod';
import type { AgentTool } from '../tool.ts';
import type { MemoryService } from '../memory-service.ts';

// Unknown keys (a model inventing `user_id`) are dropped, never obeyed: the
// user always comes from the server-side context.
const saveArgs = z.object({ content: z.string().min(1).max(8000), tags: z.array(z.string().max(50)).max(20).optional(), kind: z.enum(['memory', 'insight']).optional() });
const searchArgs = z.object({ query: z.string().min(1).max(1000), limit: z.number().int().min(1).max(20).optional() });
const getArgs = z.object({ id: z.uuid() });

export function memoryTools(memory: MemoryService): AgentTool[] {
  const save: AgentTool<typeof saveArgs> = {
    name: 'memory_save',
    description: 'Remember a fact, preference or insight about the user for later conversations.',
    args: saveArgs,
    parameters: {
      type: 'object',
      properties: {
        content: { type: 'string', description: 'What to remember, as a self-contained sentence.' },
        tags: { type: 'array', items: { type: 'string' } },
        kind: { type: 'string', enum: ['memory', 'insight'] },
      },
      required: ['content'],
    },
    run: async (args, ctx) => {
      const saved = await memory.save(ctx.actor, { content: args.content, tags: args.tags ?? [], kind: args.kind ?? 'memory', agentId: ctx.agentId ?? null }, ctx.signal);
      return { id: saved.id, saved: true, searchable: saved.embedded ? 'by meaning' : 'by words (embeddings unavailable)' };
    },
  };
  const search: AgentTool<typeof searchArgs> = {
    name: 'memory_search',
    description: "Search the user's memories by meaning. Returns the closest ones with their ids.",
    args: searchArgs,
    parameters: {
      type: 'object',
      properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 20 } },
      required: ['query'],
    },
    run: async (args, ctx) => {
      const hits = await memory.search(ctx.actor, args.query, args.limit ?? 5, ctx.signal);
      return { results: hits.map((h) => ({ id: h.id, content: h.content, tags: h.tags, score: Number(h.score.toFixed(4)), match: h.match })) };
    },
  };
  const get: AgentTool<typeof getArgs> = {
    name: 'memory_get',
    description: 'Read one memory by id.',
    args: getArgs,
    parameters: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
    run: async (args, ctx) => {
      const m = await memory.get(ctx.actor, args.id);
      return { id: m.id, content: m.content, tags: m.tags, kind: m.kind, createdAt: m.createdAt.toISOString() };
    },
  };
  return [save, search, get] as unknown as AgentTool[];
}
