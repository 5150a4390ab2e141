/** Shared pieces of the job tests: a config under a unique Valkey prefix, polling, a silent logger. */
import { Redis } from 'ioredis';
import { configSchema, type MosaicConfig, type MosaicConfigInput } from '../../src/config/schema.ts';
import { createLogger } from '../../src/logging.ts';
import { redisPrefix } from '../support/databases.ts';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A config whose every Valkey key lives under a fresh test prefix. */
export function testConfig(input: MosaicConfigInput = {}, label = 'jobs'): MosaicConfig {
  const config = configSchema.parse({ ...input, valkey: { url: REDIS_URL } });
  // The test prefix carries ':' (which the config schema refuses) so the global teardown finds it.
  config.valkey.keyPrefix = redisPrefix(label);
  return config;
}

export const silentLogger = () => createLogger('silent');

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
