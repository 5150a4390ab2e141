/**
 * The in-memory cache behind rules, agents and credentials: a hit costs no
 * load, a change drops everything (and a load racing it is not kept), a
 * failed load is not kept, and expired entries leave memory — they may hold
 * decrypted keys — without waiting for the entry cap.
 */
import { describe, expect, it } from 'vitest';
import { KeyedCache } from '../../src/cache/keyed-cache.ts';

describe('KeyedCache', () => {
  it('loads once per key until it expires or is invalidated', async () => {
    let now = 0;
    let loads = 0;
    const cache = new KeyedCache<string>(1000, () => now);
    const load = async () => `v${++loads}`;
    expect(await cache.get('a', load)).toBe('v1');
    expect(await cache.get('a', load)).toBe('v1');
    now = 1000;
    expect(await cache.get('a', load)).toBe('v2');
    cache.invalidate();
    expect(await cache.get('a', load)).toBe('v3');
  });

  it('does not keep a load that failed, nor one that raced an invalidation', async () => {
    const cache = new KeyedCache<string>(1000, () => 0);
    await expect(cache.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', async () => 'fresh')).toBe('fresh');
    let release!: (v: string) => void;
    const slow = cache.get('b', () => new Promise<string>((r) => (release = r)));
    cache.invalidate();
    release('stale');
    expect(await slow).toBe('stale');
    expect(await cache.get('b', async () => 'new')).toBe('new');
  });

  it('lets expired entries go on the next use after their lifetime, not only at the cap', async () => {
    let now = 0;
    const cache = new KeyedCache<string>(1000, () => now);
    for (const key of ['user-1:openai', 'user-2:openai', 'user-3:anthropic']) await cache.get(key, async () => 'secret');
    expect(cache.size).toBe(3);
    now = 1500;
    await cache.get('user-4:openai', async () => 'secret');
    expect(cache.size).toBe(1);
  });
});
