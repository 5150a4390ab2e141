/**
 * Provider health that cannot be read is `unknown`, never `down`: an outage
 * of Valkey (where health lives) says nothing about the providers, so
 * routing still tries them, and "no model can take this message" is only
 * said when it is true. Against a private redis-server that the test stops
 * and starts (never the shared one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { configSchema } from '../../src/config/schema.ts';
import type { Database } from '../../src/db/client.ts';
import { ProviderHealth } from '../../src/providers/health.ts';
import { catalogueDirectory } from '../../src/routing/catalogue-directory.ts';
import { configAvailability } from '../../src/routing/config-availability.ts';
import { createRoutingService } from '../../src/routing/routing-service.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import { createPgliteDatabase, redisPrefix } from '../support/databases.ts';
import { freePort } from '../support/processes.ts';
import { startPrivateRedis, type PrivateService } from '../support/private-services.ts';
import { logger } from './helpers.ts';

const SIMPLE = 'What is the capital of Australia?';

function tracker(redis: Redis, prefix: string): ProviderHealth {
  return new ProviderHealth({ redis, keyPrefix: prefix, failureThreshold: 3, cooldownSeconds: [60], readTimeoutMs: 300, logger });
}

describe('provider health that cannot be read', () => {
  it('is unknown and usable within its bound when nothing answers at the Valkey address', async () => {
    const port = await freePort();
    // The offline queue would hold a command until Valkey comes back: the read bound is what answers.
    const redis = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: 50 });
    redis.on('error', () => undefined);
    const health = tracker(redis, redisPrefix('unknown-health'));
    const started = Date.now();
    const record = await health.get('openai');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(record).toMatchObject({ provider: 'openai', status: 'unknown', usable: true, coolingDown: false });
    expect(record.lastError).toMatch(/could not be read/);
    expect(await health.isUsableFor('openai', 'some-user')).toBe(true);
    expect(await health.ownKey('openai', 'some-user')).toBeNull();
    redis.disconnect();
  });

  describe('routing while the health store is out', () => {
    let valkey: PrivateService;
    let redis: Redis;
    let database: Database;
    let userId: string;
    const prefix = redisPrefix('unknown-routing');
    // Only OpenAI has a key; the others are off, so the routing outcome depends on OpenAI's health alone.
    const config = configSchema.parse({
      providers: { openai: { apiKey: 'sk-test' }, anthropic: { enabled: false }, openrouter: { enabled: false }, zai: { enabled: false }, ollama: { enabled: false } },
      routing: { fallbackChain: [{ provider: 'openai', model: 'gpt-6-luna' }] },
    });

    beforeAll(async () => {
      valkey = await startPrivateRedis();
      redis = new Redis(valkey.url, { maxRetriesPerRequest: 2 });
      redis.on('error', () => undefined);
      database = await createPgliteDatabase();
      userId = (await new AccountService(database.db).createUser({ username: 'ann' })).user.id;
    }, 60_000);
    afterAll(async () => {
      redis?.disconnect();
      await valkey?.close();
      await database?.close();
    });

    function routing(health: ProviderHealth) {
      const availability = configAvailability(config, { isHealthy: (p, user) => config.providers[p].enabled && health.isUsableFor(p, user) });
      return createRoutingService({ db: database.db, routing: config.routing, directory: catalogueDirectory(), availability });
    }

    it('a provider really down is refused with a true notice; unreadable health routes to it', async () => {
      const health = tracker(redis, prefix);
      const service = routing(health);
      // True: OpenAI failed its probe, so it is down and cooling down.
      await health.recordFailure('openai', 'unavailable: connection refused', undefined, { probe: true });
      const refused = await service.route({ userId, text: SIMPLE });
      expect(refused.outcome).toBe('refused');
      if (refused.outcome === 'refused') expect(refused.userNotice).toMatch(/openai is down/);

      // Valkey goes away: the record cannot be read, so OpenAI is unknown and tried.
      await valkey.stop();
      const record = await health.get('openai');
      expect(record.status).toBe('unknown');
      const routed = await service.route({ userId, text: SIMPLE });
      expect(routed.outcome).toBe('routed');
      if (routed.outcome === 'routed') {
        expect(routed.provider).toBe('openai');
        expect(routed.fallbacksTried.map((t) => t.why).join(' ')).not.toMatch(/is down/);
      }

      // Valkey is back (empty, as after a restart without persistence): the record reads healthy again.
      await valkey.start();
      await expect.poll(async () => (await health.get('openai')).status, { timeout: 20_000 }).toBe('healthy');
    }, 60_000);
  });
});
