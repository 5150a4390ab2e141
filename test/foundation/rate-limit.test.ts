/**
 * The API rate limit counts a client's requests across replicas: two app
 * instances sharing one Valkey (as replicas do) share the count.
 */
import request from 'supertest';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { Readiness } from '../../src/http/readiness.ts';
import { valkeyRateLimitStore } from '../../src/http/rate-limit-store.ts';
import { createLogger } from '../../src/logging.ts';
import { redisPrefix } from '../support/databases.ts';

const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
afterAll(() => redis.disconnect());

function replica(keyPrefix: string) {
  return createHttpApp({
    logger: createLogger('silent'),
    authenticate: async () => null,
    readiness: new Readiness(),
    metrics: createMetrics(),
    bodyLimit: '100kb',
    rateLimitPerMinute: 3,
    rateLimitStore: valkeyRateLimitStore(redis, keyPrefix),
    routes: [],
  });
}

describe('the API rate limit', () => {
  it('is shared by replicas through Valkey', async () => {
    const keyPrefix = redisPrefix('ratelimit');
    const a = replica(keyPrefix);
    const b = replica(keyPrefix);
    await request(a).get('/api/openapi.json').expect(200);
    await request(b).get('/api/openapi.json').expect(200);
    await request(a).get('/api/openapi.json').expect(200);
    // The fourth request of this client this minute, on the other replica.
    const limited = await request(b).get('/api/openapi.json').expect(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(await redis.keys(`${keyPrefix}:rate-limit:*`)).toHaveLength(1);
  });
});
