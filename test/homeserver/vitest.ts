/**
 * Vitest wiring: `const ctx = useTestHomeserver({...})` starts a homeserver
 * before the file's tests, stops it after, and fails any test that made the
 * homeserver see (or send) something the Matrix spec does not allow.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { TestHomeserver, type TestHomeserverOptions } from './server.ts';

export function useTestHomeserver(options: TestHomeserverOptions | (() => TestHomeserverOptions | Promise<TestHomeserverOptions>) = {}): { readonly hs: TestHomeserver } {
  let hs: TestHomeserver | undefined;
  beforeAll(async () => {
    hs = await TestHomeserver.start(typeof options === 'function' ? await options() : options);
  });
  afterEach(() => hs?.assertNoSpecViolations());
  afterAll(async () => {
    await hs?.stop();
  });
  return {
    get hs(): TestHomeserver {
      if (!hs) throw new Error('the test homeserver starts in beforeAll; use it inside a test or hook');
      return hs;
    },
  };
}
