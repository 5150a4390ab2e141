/**
 * /api/admin/jobs: the admin jobs API. Job ids are the opaque `id` of the
 * job list (base64url of `<queue>\0<BullMQ job id>`); queue names go in the
 * path URL-encoded (`mosaic%3Asession-gc`) or as they are (`mosaic:session-gc`).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { JobAdmin } from '../jobs/job-admin.ts';
import { requireAdmin } from './auth.ts';
import { parseInput } from './validate.ts';

const listQuery = z
  .object({
    status: z.string().optional(),
    queue: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
  })
  .strict();

const runBody = z.object({ job: z.string().min(1).optional() }).strict();

export function jobsRouter(admin: JobAdmin): Router {
  const r = Router();
  r.use(requireAdmin);
  r.get('/', async (req, res) => {
    const query = parseInput(listQuery, req.query, 'query');
    res.json(await admin.listJobs(query));
  });
  r.get('/queues', async (_req, res) => {
    res.json({ queues: await admin.queues() });
  });
  r.post('/queues/:name/pause', async (req, res) => {
    res.json(await admin.pause(req.params.name));
  });
  r.post('/queues/:name/resume', async (req, res) => {
    res.json(await admin.resume(req.params.name));
  });
  r.post('/queues/:name/run', async (req, res) => {
    const body = parseInput(runBody, req.body ?? {});
    res.status(201).json(await admin.runNow(req.params.name, body.job));
  });
  r.get('/:id', async (req, res) => {
    res.json(await admin.getJob(req.params.id));
  });
  r.post('/:id/retry', async (req, res) => {
    res.json(await admin.retryJob(req.params.id));
  });
  r.delete('/:id', async (req, res) => {
    await admin.removeJob(req.params.id);
    res.status(204).end();
  });
  return r;
}
