/**
 * Provider health says what is true, and /readyz says the same: no key at all
 * is `not_configured` (never healthy or usable), a failed probe is `down`.
 * The whole gateway, with its scheduled probe job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

interface HealthRecord {
  provider: string;
  status: string;
  usable: boolean;
  hasSystemCredential: boolean;
}

let mosaic: TestMosaic;
beforeAll(async () => {
  // OpenAI and Ollama run as simulators; Anthropic is enabled with no key at all.
  mosaic = await startTestMosaic({ providers: ['openai', 'ollama'], config: { providers: { anthropic: { enabled: true } } } });
}, 120_000);
afterAll(async () => mosaic?.stop());

describe('provider health', () => {
  it('no credential is not_configured, a failed probe is down, and /readyz agrees with /api/providers/health', async () => {
    mosaic.simulators.ollama.failAll('server');
    const run = await mosaic.api<{ id: string }>(mosaic.adminToken, 'POST', '/api/admin/jobs/queues/mosaic:health-probes/run', {});
    expect(run.status).toBe(201);
    await expect
      .poll(async () => (await mosaic.api<{ state: string }>(mosaic.adminToken, 'GET', `/api/admin/jobs/${run.body.id}`)).body.state, { timeout: 30_000 })
      .toBe('completed');

    const health = await mosaic.api<{ providers: HealthRecord[] }>(mosaic.adminToken, 'GET', '/api/providers/health');
    const by = Object.fromEntries(health.body.providers.map((p) => [p.provider, p]));
    expect(by.anthropic).toMatchObject({ status: 'not_configured', usable: false, hasSystemCredential: false });
    expect(by.ollama).toMatchObject({ status: 'down', usable: false, hasSystemCredential: true });
    expect(by.openai).toMatchObject({ status: 'healthy', usable: true, hasSystemCredential: true });

    const ready = (await (await fetch(`${mosaic.url}/readyz`)).json()) as { checks: { providers: { ok: boolean; detail: { usable: string[]; statuses: Record<string, string> } } } };
    const usable = health.body.providers.filter((p) => p.usable).map((p) => p.provider);
    expect(ready.checks.providers.detail.usable).toEqual(usable);
    expect(ready.checks.providers.detail.statuses).toEqual(Object.fromEntries(health.body.providers.map((p) => [p.provider, p.status])));
    expect(ready.checks.providers.ok).toBe(true);
  }, 60_000);
});
