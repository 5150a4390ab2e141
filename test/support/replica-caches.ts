/**
 * For tests of what replicas cache: two gateways on one database and one
 * Valkey prefix, and a wait for a condition (an invalidation arrives over
 * pub/sub, so its effect is waited for, never slept for).
 */
import { startTestMosaic, type TestMosaic, type TestMosaicOptions } from './mosaic-harness.ts';

export async function startTwoReplicas(options: TestMosaicOptions): Promise<{ a: TestMosaic; b: TestMosaic; stop: () => Promise<void> }> {
  const a = await startTestMosaic(options);
  const b = await startTestMosaic({ replicaOf: a });
  return {
    a,
    b,
    async stop() {
      await b.stop();
      await a.stop();
    },
  };
}

export async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
