/**
 * What the benches that run Mosaic as an operator does share: the build
 * `npm ci` makes (built first when stale), `mosaic start` in a temporary
 * folder (embedded PGlite) waited for until it prints its address, and the
 * Valkey keys of its prefix deleted afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsFresh } from '../../bin/build-stamp.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The `mosaic` command. */
export const bin = path.join(root, 'bin', 'mosaic.js');

export type BenchEnv = { PATH: string; HOME: string; LOG_LEVEL: string; METRICS_PORT: string; VALKEY_PREFIX: string };

/** A minimal environment for the command, with its own Valkey prefix (`bench-<name>-<pid>`). */
export function benchEnv(name: string): BenchEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', METRICS_PORT: '0', VALKEY_PREFIX: `bench-${name}-${process.pid}` };
}

/** Builds first when the build does not match the sources (or the web client's is missing, when it is needed); exits on failure. */
export function ensureBuild(options: { webClient?: boolean } = {}): void {
  const webMissing = options.webClient === true && !existsSync(path.join(root, 'clients', 'web', 'dist', 'index.html'));
  if (buildIsFresh(root) && !webMissing) return;
  console.log('building first (the command runs the build when it matches the sources)…');
  if (spawnSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { stdio: 'inherit' }).status !== 0) process.exit(1);
}

export interface MosaicServer {
  /** Where it listens, e.g. http://127.0.0.1:40123. */
  url: string;
  process: ChildProcess;
  /** Stops it (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** `mosaic start` in `cwd` on a free port; resolves once it prints "Mosaic listening on <url>". */
export async function startMosaic(cwd: string, env: Record<string, string>, timeoutMs = 120_000): Promise<MosaicServer> {
  const server = spawn(process.execPath, [bin, 'start'], { cwd, env: { ...env, PORT: '0' } });
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  };
  let out = '';
  server.stdout.on('data', (d) => (out += d));
  server.stderr.on('data', (d) => (out += d));
  const listening = /Mosaic listening on (http:\/\/\S+)/;
  const deadline = Date.now() + timeoutMs;
  while (!listening.test(out) && Date.now() < deadline && server.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  const url = listening.exec(out)?.[1];
  if (!url) {
    await stop();
    throw new Error(`mosaic start did not come up: ${out}`);
  }
  return { url, process: server, stop };
}

/** Deletes every Valkey key of the prefix (what a bench's server left behind). */
export async function deleteValkeyKeys(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(process.env.VALKEY_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
