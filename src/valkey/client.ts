/** Valkey/Redis connections. Shared state between replicas lives here, never in process memory. */
import { Redis, type RedisOptions } from 'ioredis';
import { serviceUnavailable } from '../errors.ts';
import { redactUrl } from '../logging.ts';

export type { Redis };

/**
 * No command waits longer than this for an answer, even one queued while
 * the connection is down: during an outage callers fail in seconds (and
 * requests answer 503) instead of hanging until Valkey is back.
 */
export const VALKEY_COMMAND_TIMEOUT_MS = 2000;

/** Connects and pings, or throws one clear line naming what to start. */
export async function connectValkey(url: string, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, commandTimeout: VALKEY_COMMAND_TIMEOUT_MS, ...options });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw serviceUnavailable(`Valkey at ${redactUrl(url)} is not reachable (${code}): start Valkey or Redis, or set VALKEY_URL`, err);
  }
  return client;
}

/** A key under this install's prefix. */
export function valkeyKey(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].join(':');
}
