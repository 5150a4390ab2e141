/** Running the retention purge from a test, as an admin would, and reading its job detail. */
import { expect } from 'vitest';
import type { TestMosaic } from '../support/mosaic-harness.ts';
import { until } from './support.ts';

export interface PurgeJobDetail {
  state: string;
  returnValue: Record<string, number> | null;
  progress: Record<string, number> | null;
  failedReason: string | null;
}

/** Runs the retention purge now (the admin jobs API) and waits for it to finish; its detail as that API shows it. */
export async function runPurge(mosaic: TestMosaic): Promise<PurgeJobDetail> {
  const admin = <T>(method: string, path: string, body?: unknown) => mosaic.api<T>(mosaic.adminToken, method, path, body);
  const run = await admin<{ id: string }>('POST', `/api/admin/jobs/queues/${encodeURIComponent('mosaic:retention-purge')}/run`, {});
  expect(run.status).toBe(201);
  return until('the purge to finish', async () => {
    const detail = await admin<PurgeJobDetail>('GET', `/api/admin/jobs/${run.body.id}`);
    return detail.body.state === 'completed' || detail.body.state === 'failed' ? detail.body : null;
  }, 60_000);
}
