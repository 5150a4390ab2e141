/**
 * The API rate limiter's counts, kept in Valkey so every replica counts the
 * same client's requests together (rate-limit-redis: an INCR-and-expire Lua
 * script per hit, from the express-rate-limit project).
 */
import { RedisStore } from 'rate-limit-redis';
import type { Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { valkeyKey } from '../valkey/client.ts';

/** `name` keeps a narrower limit's counts apart from the API's (`rate-limit:<name>:…`). */
export function valkeyRateLimitStore(valkey: Redis, keyPrefix: string, name?: string): Store {
  return new RedisStore({
    prefix: `${name ? valkeyKey(keyPrefix, 'rate-limit', name) : valkeyKey(keyPrefix, 'rate-limit')}:`,
    sendCommand: (command: string, ...args: string[]) => valkey.call(command, ...args) as Promise<string | number | boolean | Array<string | number | boolean>>,
  });
}
