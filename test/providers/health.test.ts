/** Health status, cooldowns and probes, stored in Redis and shared between replicas. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config/index.ts';
import { createProviderRegistry } from '../../src/providers/registry.ts';
import { ProviderHealth, createProviderHealth } from '../../src/providers/health.ts';
import { ProviderError } from '../../src/providers/errors.ts';
import { redisPrefix } from '../support/databases.ts';
import { startSimulator, simulatorProviderConfig, type AnySimulator } from '../simulators/index.ts';
import { collectError, logger, request } from './helpers.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('provider health', () => {
  let redis: Redis;
  let redis2: Redis;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    redis2 = new Redis(REDIS_URL);
  });
  afterAll(() => {
    redis.disconnect();
    redis2.disconnect();
  });

  function tracker(clock: { now: number }, prefix: string, client = redis): ProviderHealth {
    return new ProviderHealth({ redis: client, keyPrefix: prefix, failureThreshold: 3, cooldownSeconds: [60, 300, 1500], clock: () => clock.now });
  }

  it('goes healthy → degraded → down, cools down, steps the cooldown up on repeats and recovers', async () => {
    const clock = { now: 1_700_000_000_000 };
    const prefix = redisPrefix('health');
    const health = tracker(clock, prefix);

    let rec = await health.get('anthropic');
    expect(rec).toMatchObject({ status: 'healthy', usable: true, since: null, consecutiveFailures: 0 });

    await health.recordFailure('anthropic', 'unavailable: 500');
    rec = await health.get('anthropic');
    expect(rec).toMatchObject({ status: 'degraded', usable: true, consecutiveFailures: 1, lastError: 'unavailable: 500' });
    expect(rec.since).toBe(new Date(clock.now).toISOString());

    clock.now += 1000;
    await health.recordFailure('anthropic', 'unavailable: 502');
    clock.now += 1000;
    const status = await health.recordFailure('anthropic', 'timeout');
    expect(status).toBe('down');
    rec = await health.get('anthropic');
    expect(rec).toMatchObject({ status: 'down', usable: false, consecutiveFailures: 3, cooldownStep: 1, lastError: 'timeout' });
    expect(rec.cooldownUntil).toBe(new Date(clock.now + 60_000).toISOString());
    const downSince = rec.since;
    expect(downSince).toBe(new Date(clock.now).toISOString());
    expect(await health.isUsable('anthropic')).toBe(false);

    // Failures reported during the cooldown (other replicas' calls in flight) do not extend it.
    clock.now += 30_000;
    await health.recordFailure('anthropic', 'late failure');
    expect((await health.get('anthropic')).cooldownUntil).toBe(rec.cooldownUntil);

    clock.now += 29_999;
    expect(await health.isUsable('anthropic')).toBe(false);
    clock.now += 1;
    expect(await health.isUsable('anthropic')).toBe(true);

    // The trial fails: down again, next step (300 s), still down since the first time.
    await health.recordFailure('anthropic', 'still failing');
    rec = await health.get('anthropic');
    expect(rec).toMatchObject({ status: 'down', usable: false, cooldownStep: 2, since: downSince });
    expect(rec.cooldownUntil).toBe(new Date(clock.now + 300_000).toISOString());

    clock.now += 300_000;
    await health.recordFailure('anthropic', 'and again');
    rec = await health.get('anthropic');
    expect(rec.cooldownStep).toBe(3);
    expect(rec.cooldownUntil).toBe(new Date(clock.now + 1_500_000).toISOString());

    // The last step repeats.
    clock.now += 1_500_000;
    await health.recordFailure('anthropic', 'once more');
    rec = await health.get('anthropic');
    expect(rec.cooldownStep).toBe(4);
    expect(rec.cooldownUntil).toBe(new Date(clock.now + 1_500_000).toISOString());

    // Recovery resets everything.
    clock.now += 1_500_000;
    await health.recordSuccess('anthropic', 120);
    rec = await health.get('anthropic');
    expect(rec).toMatchObject({ status: 'healthy', usable: true, consecutiveFailures: 0, cooldownStep: 0, cooldownUntil: null, latencyMs: 120 });
    expect(rec.since).toBe(new Date(clock.now).toISOString());

    // After recovery the first cooldown step applies again.
    for (let i = 0; i < 3; i++) await health.recordFailure('anthropic', 'x');
    expect((await health.get('anthropic')).cooldownUntil).toBe(new Date(clock.now + 60_000).toISOString());
  });

  it('is shared between replicas through Redis', async () => {
    const clock = { now: 1_700_000_000_000 };
    const prefix = redisPrefix('replicas');
    const a = tracker(clock, prefix, redis);
    const b = tracker(clock, prefix, redis2);
    await Promise.all([a.recordFailure('openai', 'e1'), b.recordFailure('openai', 'e2'), a.recordFailure('openai', 'e3')]);
    const rec = await b.get('openai');
    expect(rec.status).toBe('down');
    expect(rec.consecutiveFailures).toBe(3);
    expect(await a.isUsable('openai')).toBe(false);
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys).toEqual([`${prefix}:provider-health:openai`]);
    // Another install's prefix sees nothing.
    expect(await tracker(clock, redisPrefix('other')).isUsable('openai')).toBe(true);
  });

  it('marks a slow but successful probe degraded', async () => {
    const clock = { now: 1_700_000_000_000 };
    const health = new ProviderHealth({ redis, keyPrefix: redisPrefix('slow'), failureThreshold: 3, cooldownSeconds: [60], clock: () => clock.now, slowMs: 500 });
    expect(await health.recordSuccess('zai', 900)).toBe('degraded');
    expect(await health.recordSuccess('zai', 100)).toBe('healthy');
  });

  it('counts only failures that are the provider’s fault when observing real calls', async () => {
    const clock = { now: 1_700_000_000_000 };
    const health = tracker(clock, redisPrefix('observe'));
    const outcome = (kind: ProviderError['kind'], userCredential = false) => ({
      provider: 'openrouter' as const,
      ok: false,
      latencyMs: 10,
      attempts: 1,
      userCredential,
      error: new ProviderError('openrouter', kind, 'x'),
    });
    for (const kind of ['bad_request', 'cancelled', 'context_length'] as const) await health.observe(outcome(kind));
    await health.observe(outcome('auth', true));
    expect((await health.get('openrouter')).consecutiveFailures).toBe(0);
    await health.observe(outcome('auth', false));
    await health.observe(outcome('unavailable'));
    expect((await health.get('openrouter')).consecutiveFailures).toBe(2);
    await health.observe({ provider: 'openrouter', ok: true, latencyMs: 5, attempts: 1, userCredential: false });
    expect((await health.get('openrouter')).status).toBe('healthy');
  });

  it("a user's own key failing never moves the shared record: it cools down for that user alone", async () => {
    const clock = { now: 1_700_000_000_000 };
    const health = tracker(clock, redisPrefix('ownkey'));
    const mallory = '00000000-0000-4000-8000-00000000000a';
    const alice = '00000000-0000-4000-8000-00000000000b';
    const own = (kind: ProviderError['kind']) => ({
      provider: 'openai' as const,
      ok: false,
      latencyMs: 10,
      attempts: 1,
      userCredential: true,
      credentialOwner: mallory,
      error: new ProviderError('openai', kind, 'cannot reach the provider (dead base URL)'),
    });
    // The finding: four messages with a dead base URL of one's own put the system's provider into cooldown.
    for (let i = 0; i < 4; i++) await health.observe(own('unavailable'));
    expect(await health.get('openai')).toMatchObject({ status: 'healthy', consecutiveFailures: 0, usable: true });
    expect(await health.isUsableFor('openai', alice)).toBe(true);
    expect(await health.isUsable('openai')).toBe(true);
    expect(await health.ownKey('openai', mallory)).toMatchObject({ status: 'down', usable: false, consecutiveFailures: 4 });
    expect(await health.isUsableFor('openai', mallory)).toBe(false);
    expect(await health.ownKey('openai', alice)).toBeNull();
    // A call of theirs that works clears their record; a call without an owner changes nothing at all.
    clock.now += 61_000;
    await health.observe({ provider: 'openai', ok: true, latencyMs: 5, attempts: 1, userCredential: true, credentialOwner: mallory });
    expect(await health.isUsableFor('openai', mallory)).toBe(true);
    await health.observe({ ...own('unavailable'), credentialOwner: undefined } as never);
    expect((await health.get('openai')).consecutiveFailures).toBe(0);
  });

  describe('with simulators', () => {
    let ollama: AnySimulator;
    let openai: AnySimulator;
    beforeAll(async () => {
      ollama = await startSimulator('ollama');
      openai = await startSimulator('openai');
    });
    afterAll(async () => {
      await ollama.close();
      await openai.close();
    });

    it('probes with the cheap model listing, skips providers without a key and those cooling down', async () => {
      const clock = { now: Date.now() };
      // keyPrefix allows no ':', so this one is outside the run's cleanup pattern: removed below.
      const keyPrefix = redisPrefix('probe').replace(/:/g, '_');
      const config = parseConfig({
        valkey: { keyPrefix },
        health: { failureThreshold: 2, cooldownSeconds: [60, 300] },
        providers: { ...simulatorProviderConfig({ ollama, openai }), anthropic: { enabled: true }, openrouter: { enabled: false }, zai: { enabled: false } },
      });
      const health = createProviderHealth(config, redis, { clock: () => clock.now });
      const registry = createProviderRegistry(config, logger, { policy: { onOutcome: health.outcomeListener(), maxRetries: 0 } });
      health.bindRegistry(registry);

      let reports = await health.probeAll();
      expect(reports.map((r) => r.provider).sort()).toEqual(['anthropic', 'ollama', 'openai']);
      expect(reports.find((r) => r.provider === 'anthropic')!.skipped).toBe('no_system_credential');
      expect(reports.find((r) => r.provider === 'ollama')!).toMatchObject({ status: 'healthy', result: { ok: true } });
      expect(ollama.requests.filter((r) => r.kind === 'models')).toHaveLength(1);
      expect(ollama.chatRequests()).toHaveLength(0);
      expect((await health.get('ollama')).latencyMs).toBeGreaterThanOrEqual(0);

      // A provider without a key is not_configured, never healthy or usable.
      expect(await health.get('anthropic')).toMatchObject({ status: 'not_configured', usable: false, hasSystemCredential: false });

      // A failed probe makes it down at once (not degraded): the listing itself failed.
      ollama.failAll('server');
      await health.probeAll();
      expect(await health.get('ollama')).toMatchObject({ status: 'down', usable: false, coolingDown: true, cooldownStep: 1 });
      // A real call fails too (passive tracking): it stays down.
      await collectError(registry.get('ollama')!.chat(request('ollama')));
      await expect.poll(async () => (await health.get('ollama')).status).toBe('down');
      const before = ollama.requests.length;
      reports = await health.probeAll();
      expect(reports.find((r) => r.provider === 'ollama')!.skipped).toBe('cooling_down');
      expect(ollama.requests.length).toBe(before);

      // After the cooldown the next probe is the trial; the provider is back.
      ollama.failAll(null);
      clock.now += 60_000;
      reports = await health.probeAll();
      expect(reports.find((r) => r.provider === 'ollama')!.status).toBe('healthy');
      expect(await health.isUsable('ollama')).toBe(true);
      const all = await health.all();
      expect(all.map((r) => r.provider)).toEqual(['anthropic', 'openai', 'ollama']);
      const keys = await redis.keys(`${keyPrefix}:*`);
      if (keys.length) await redis.del(...keys);
    });
  });
});
