/** GET /api/providers/models and /api/providers/health through the real HTTP app. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { Redis } from 'ioredis';
import type { Express } from 'express';
import { parseConfig } from '../../src/config/index.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { Readiness } from '../../src/http/readiness.ts';
import { providerRoutes, type ModelAvailability } from '../../src/http/provider-routes.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { createProviderRegistry } from '../../src/providers/registry.ts';
import { createProviderHealth } from '../../src/providers/health.ts';
import { ModelDirectory } from '../../src/providers/model-directory.ts';
import { redisPrefix } from '../support/databases.ts';
import { startSimulator, simulatorProviderConfig, type AnySimulator } from '../simulators/index.ts';
import { logger } from './helpers.ts';

const ALICE: Actor = { userId: '00000000-0000-4000-8000-00000000000a', role: 'member', username: 'alice' };
const BOB: Actor = { userId: '00000000-0000-4000-8000-00000000000b', role: 'member', username: 'bob' };

describe('provider routes', () => {
  let redis: Redis;
  let ollama: AnySimulator;
  let openai: AnySimulator;
  let app: Express;
  let keyPrefix: string;
  let health: ReturnType<typeof createProviderHealth>;

  beforeAll(async () => {
    redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    ollama = await startSimulator('ollama');
    openai = await startSimulator('openai');
    keyPrefix = redisPrefix('routes').replace(/:/g, '_');
    const config = parseConfig({
      valkey: { keyPrefix },
      providers: { ...simulatorProviderConfig({ ollama, openai }), anthropic: { enabled: true }, openrouter: { enabled: false }, zai: { enabled: false } },
    });
    const registry = createProviderRegistry(config, logger);
    health = createProviderHealth(config, redis, { registry });
    const directory = new ModelDirectory(registry);
    // Alice has her own Anthropic key; Bob has none.
    const hasUserCredential = async (actor: Actor, provider: string) => actor.userId === ALICE.userId && provider === 'anthropic';
    const actors: Record<string, Actor> = { alice: ALICE, bob: BOB };
    app = createHttpApp({
      logger,
      authenticate: async (token) => actors[token] ?? null,
      readiness: new Readiness(),
      metrics: createMetrics(),
      bodyLimit: '100kb',
      rateLimitPerMinute: 10_000,
      routes: [providerRoutes({ registry, health, directory, hasUserCredential })],
    });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await ollama.close();
    await openai.close();
  });

  it('needs a token', async () => {
    await request(app).get('/api/providers/models').expect(401);
    await request(app).get('/api/providers/health').expect(401);
  });

  it('lists models with provider, capabilities and availability for the acting user', async () => {
    const res = await request(app).get('/api/providers/models').set('authorization', 'Bearer bob').expect(200);
    const models = res.body.models as ModelAvailability[];
    const find = (provider: string, id: string) => models.find((m) => m.provider === provider && m.id === id);
    expect(new Set(models.map((m) => m.provider))).toEqual(new Set(['anthropic', 'openai', 'ollama']));

    const gpt5 = find('openai', 'gpt-5')!;
    expect(gpt5).toMatchObject({ tier: 'premium', tools: true, vision: true, streaming: true, embedding: false, source: 'both', available: true });
    expect(gpt5.contextWindow).toBeGreaterThan(100_000);
    expect(gpt5.inputPricePerMTok).toBeGreaterThan(0);
    expect(find('openai', 'gpt-sim-experimental')).toMatchObject({ source: 'listed', tools: false, available: true });

    // Bob has no Anthropic key and there is no system one.
    expect(find('anthropic', 'claude-sonnet-4-5')).toMatchObject({ available: false, unavailableReason: 'no_credential', source: 'catalogue' });
    // Ollama: what is pulled is available; catalogue models that are not pulled are not.
    expect(find('ollama', 'llama3.2:latest')).toMatchObject({ source: 'both', available: true });
    expect(find('ollama', 'nomic-embed-text:latest')).toMatchObject({ embedding: true, available: true });
    expect(find('ollama', 'phi-sim:latest')).toMatchObject({ source: 'listed' });
    expect(find('openai', 'text-embedding-3-large')).toMatchObject({ source: 'catalogue', available: false, unavailableReason: 'not_listed' });

    const providers = res.body.providers as Array<{ provider: string; credential: string; local: boolean }>;
    expect(providers.find((p) => p.provider === 'anthropic')!.credential).toBe('none');
    expect(providers.find((p) => p.provider === 'ollama')!.local).toBe(true);

    const alice = await request(app).get('/api/providers/models?provider=anthropic').set('authorization', 'Bearer alice').expect(200);
    expect(alice.body.models.every((m: ModelAvailability) => m.provider === 'anthropic' && m.available)).toBe(true);
    expect(alice.body.providers).toEqual([expect.objectContaining({ provider: 'anthropic', credential: 'user' })]);

    const embeddings = await request(app).get('/api/providers/models?capability=embedding&available=true').set('authorization', 'Bearer bob').expect(200);
    expect(embeddings.body.models.map((m: ModelAvailability) => m.id).sort()).toEqual(['nomic-embed-text:latest', 'text-embedding-3-small']);

    await request(app).get('/api/providers/models?provider=nope').set('authorization', 'Bearer bob').expect(400);
  });

  it('marks models of a provider that is cooling down unavailable, and reports health', async () => {
    for (let i = 0; i < 3; i++) await health.recordFailure('openai', 'unavailable: 500');
    const res = await request(app).get('/api/providers/models?provider=openai').set('authorization', 'Bearer bob').expect(200);
    expect(res.body.models.every((m: ModelAvailability) => !m.available && m.unavailableReason === 'cooling_down')).toBe(true);

    const h = await request(app).get('/api/providers/health').set('authorization', 'Bearer bob').expect(200);
    const byName = Object.fromEntries((h.body.providers as Array<{ provider: string }>).map((p) => [p.provider, p]));
    expect(Object.keys(byName).sort()).toEqual(['anthropic', 'ollama', 'openai']);
    expect(byName.openai).toMatchObject({ status: 'down', usable: false, lastError: 'unavailable: 500', consecutiveFailures: 3, hasSystemCredential: true });
    // No key at all: never 'healthy' or usable.
    expect(byName.anthropic).toMatchObject({ status: 'not_configured', usable: false, hasSystemCredential: false });
    await health.recordSuccess('openai', 12);
    const after = await request(app).get('/api/providers/health').set('authorization', 'Bearer bob').expect(200);
    expect(after.body.providers.find((p: { provider: string }) => p.provider === 'openai')).toMatchObject({ status: 'healthy', latencyMs: 12 });
  });
});
