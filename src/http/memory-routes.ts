/**
 * /api/memories: the facts agents remembered for you (the memory tool).
 * They are yours: message retention never deletes them; you list and
 * delete them here. Another user's ids answer 404.
 */
import { z } from 'zod';
import type { MemoryService } from '../agents/memory-service.ts';
import { defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';

const memoryId = z.object({ id: z.uuid({ message: 'expected a memory id (uuid)' }) });

export function memoryRoutes(memory: MemoryService): RouteGroup {
  return {
    path: '/memories',
    tag: 'Memories',
    description: 'What agents remembered for you. Kept until you delete them: message retention does not purge memories.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Your memories, newest first',
        auth: 'user',
        query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
        responses: { 200: { description: 'Your memories.' } },
        handle: async ({ actor, query }) => ok({ items: await memory.list(actor, query.limit) }),
      }),
      defineRoute({
        method: 'get',
        path: '/:id',
        summary: 'One of your memories',
        auth: 'user',
        params: memoryId,
        responses: { 200: { description: 'The memory.' } },
        handle: async ({ actor, params }) => ok(await memory.get(actor, params.id)),
      }),
      defineRoute({
        method: 'delete',
        path: '/:id',
        summary: 'Delete one of your memories',
        auth: 'user',
        params: memoryId,
        responses: { 204: { description: 'Deleted; agents no longer recall it.' } },
        handle: async ({ actor, params }) => {
          await memory.remove(actor, params.id);
          return noContent();
        },
      }),
    ],
  };
}
