/** Mosaic as an operator runs it: `mosaic …` commands and `mosaic start` as real processes. */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.join(REPO, 'bin', 'mosaic.js');

/**
 * What a shell would pass on: no test runner variables, quiet logs unless
 * asked, and the metrics listener on a free port (its default, 9464, may be
 * another test's or another run's).
 */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', METRICS_PORT: '0', ...extra };
}

export function runMosaic(args: string[], options: { cwd: string; env?: Record<string, string>; input?: string; bin?: string }): SpawnSyncReturns<string> {
  return spawnSync('node', [options.bin ?? BIN, ...args], { cwd: options.cwd, env: baseEnv(options.env), input: options.input, encoding: 'utf8', timeout: 120_000 });
}

/** `mosaic …` with every module the process resolves written to `log` (test/support/record-imports.mjs). */
export function runMosaicRecordingImports(args: string[], options: { cwd: string; log: string; env?: Record<string, string>; bin?: string }): SpawnSyncReturns<string> {
  const hook = path.join(REPO, 'test', 'support', 'record-imports.mjs');
  return spawnSync('node', ['--import', hook, options.bin ?? BIN, ...args], { cwd: options.cwd, env: baseEnv({ ...options.env, MOSAIC_IMPORT_LOG: options.log }), encoding: 'utf8', timeout: 60_000 });
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** SIGTERM (a group: SIGINT, as Ctrl-C) and wait; resolves with the exit code (null when npm passes the signal on as its own end). */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash): nothing is cleaned up. */
  crash(): Promise<void>;
}

/**
 * Starts `command` (default `node bin/mosaic.js start`) and waits for
 * "Mosaic listening on <url>". A command given (`npm start`) runs in its own
 * process group and is stopped as a terminal's Ctrl-C stops it: SIGINT to
 * the whole group.
 */
export async function startServer(options: { cwd: string; env?: Record<string, string>; command?: [string, ...string[]]; timeoutMs?: number }): Promise<ServerProcess> {
  const [cmd, ...args] = options.command ?? ['node', BIN, 'start'];
  const group = options.command !== undefined;
  const child = spawn(cmd, args, { cwd: options.cwd, env: baseEnv(options.env), detached: group });
  const signal = (name: NodeJS.Signals) => {
    try {
      if (group) process.kill(-child.pid!, name);
      else child.kill(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let url: string | undefined;
  while (Date.now() < deadline && child.exitCode === null) {
    url = /Mosaic listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (url) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) {
    signal('SIGKILL');
    throw new Error(`mosaic start did not come up:\n${out}`);
  }
  return {
    child,
    url,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) signal(group ? 'SIGINT' : 'SIGTERM');
      return exited;
    },
    async crash() {
      signal('SIGKILL');
      await exited;
    },
  };
}

/**
 * A fresh checkout, as `git clone` + `npm ci` leave it: the repository's files
 * (what git tracks or would), node_modules (linked: what `npm ci` installs)
 * and the build `prepare` makes.
 */
export function freshCheckout(): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'mosaic-clone-')), 'mosaic');
  const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  for (const file of listed.stdout.split('\n')) {
    if (!file || !existsSync(path.join(REPO, file))) continue;
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(path.join(REPO, file), path.join(dir, file));
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const prepare = spawnSync('npm', ['run', 'prepare', '--if-present'], { cwd: dir, env: baseEnv(), encoding: 'utf8', timeout: 300_000 });
  if (prepare.status !== 0) throw new Error(`npm run prepare failed:\n${prepare.stdout}${prepare.stderr}`);
  return dir;
}

export async function getJson(url: string, token?: string): Promise<{ status: number; body: unknown }> {
  const init = token ? { headers: { authorization: `Bearer ${token}` } } : {};
  // A kept-alive connection the server closed after its idle timeout (5 s) just as it is
  // reused fails with "other side closed": a GET is safe to send again on a new one.
  const res = await fetch(url, init).catch(() => fetch(url, init));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';
