/**
 * /api/admin/jobs: the admin jobs API. Job ids are the opaque `id` of the
 * job list (base64url of `<queue>\0<BullMQ job id>`); queue names go in the
 * path URL-encoded (`mosaic%3Asession-gc`) or as they are (`mosaic:session-gc`).
 */
import { z } from 'zod';
import type { JobAdmin } from '../jobs/job-admin.ts';
import { created, defineRoute, noContent, ok, type RouteGroup } from './route-spec.ts';

const listQuery = z
  .object({
    status: z.string().optional(),
    queue: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
  })
  .strict();

const runBody = z.object({ job: z.string().min(1).optional().describe('Which scheduled job, when the queue has several.') }).strict();

const queueParams = z.object({ name: z.string().min(1).max(100).describe('`mosaic:<name>`, URL-encoded or not') });
const jobParams = z.object({ id: z.string().min(1).max(500).describe('The opaque `id` from the job list') });

export function jobsRoutes(admin: JobAdmin): RouteGroup {
  return {
    path: '/admin/jobs',
    tag: 'Admin: jobs',
    description: 'Background jobs (BullMQ queues), for admins. The same operations as `mosaic jobs …`.',
    routes: [
      defineRoute({
        method: 'get',
        path: '/',
        summary: 'Jobs, newest first',
        auth: 'admin',
        query: listQuery,
        responses: { 200: { description: 'One page of jobs and the total.' } },
        handle: async ({ query }) => ok(await admin.listJobs(query)),
      }),
      defineRoute({
        method: 'get',
        path: '/queues',
        summary: 'Every queue: counts, pause state, schedules',
        auth: 'admin',
        responses: { 200: { description: 'All queues, the reply queue included.' } },
        handle: async () => ok({ queues: await admin.queues() }),
      }),
      defineRoute({
        method: 'post',
        path: '/queues/:name/pause',
        summary: 'Stop processing a queue; jobs keep queuing',
        auth: 'admin',
        params: queueParams,
        responses: { 200: { description: 'The queue.' } },
        handle: async ({ params }) => ok(await admin.pause(params.name)),
      }),
      defineRoute({
        method: 'post',
        path: '/queues/:name/resume',
        summary: 'Resume a paused queue',
        auth: 'admin',
        params: queueParams,
        responses: { 200: { description: 'The queue.' } },
        handle: async ({ params }) => ok(await admin.resume(params.name)),
      }),
      defineRoute({
        method: 'post',
        path: '/queues/:name/run',
        summary: "Enqueue the queue's scheduled job now",
        auth: 'admin',
        params: queueParams,
        body: runBody,
        responses: { 201: { description: 'The job enqueued.' } },
        handle: async ({ params, body }) => created(await admin.runNow(params.name, body.job)),
      }),
      defineRoute({
        method: 'get',
        path: '/:id',
        summary: 'One job: data, attempts, failure, log lines',
        auth: 'admin',
        params: jobParams,
        responses: { 200: { description: 'The job.' } },
        handle: async ({ params }) => ok(await admin.getJob(params.id)),
      }),
      defineRoute({
        method: 'post',
        path: '/:id/retry',
        summary: 'Retry a failed job with a fresh set of attempts',
        auth: 'admin',
        params: jobParams,
        responses: { 200: { description: 'The job.' } },
        handle: async ({ params }) => ok(await admin.retryJob(params.id)),
      }),
      defineRoute({
        method: 'delete',
        path: '/:id',
        summary: 'Delete a job that is not running',
        auth: 'admin',
        params: jobParams,
        responses: { 204: { description: 'Deleted.' } },
        handle: async ({ params }) => {
          await admin.removeJob(params.id);
          return noContent();
        },
      }),
    ],
  };
}
