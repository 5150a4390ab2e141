/**
 * A private redis-server and a private PostgreSQL for tests that stop and
 * start them (outages): their own processes on free ports and their own
 * folders, never the machine's shared 6379 and 5432. Each can be stopped
 * and started again on the same port and data.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root its
 * commands run as the `postgres` system user (the Debian package creates it)
 * over a folder it owns.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './processes.ts';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
  });
}

async function waitPort(port: number, up: boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await reachable(port)) === up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} on port ${port} did not ${up ? 'come up' : 'go down'} within ${timeoutMs} ms`);
}

export interface PrivateService {
  port: number;
  url: string;
  /** Stops it (SIGKILL for Redis: nothing is saved anyway; a fast shutdown for PostgreSQL). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes what it kept. */
  close(): Promise<void>;
}

/** redis-server without persistence, `noeviction` as BullMQ needs: a restart starts empty, like a flushed Valkey. */
export async function startPrivateRedis(): Promise<PrivateService> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
    await waitPort(port, true, 20_000, 'redis-server');
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    await waitPort(port, false, 10_000, 'redis-server');
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, stop, close: stop };
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = path.join(root, v, 'bin', name);
    if (existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL's ${name} was not found under ${root} (apt-get install postgresql)`);
}

/** As the `postgres` user when we are root (PostgreSQL refuses root), as ourselves otherwise. */
function asPgUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('running as root, and there is no "postgres" user to run a private PostgreSQL as');
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A throwaway PostgreSQL cluster (trust authentication, no fsync) with one database, `mosaic`. */
export async function startPrivatePostgres(): Promise<PrivateService> {
  const port = await freePort();
  const user = asPgUser();
  const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-faults-pg-'));
  chmodSync(dir, 0o700);
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = path.join(dir, 'data');
  const run = (bin: string, args: string[]) => {
    const r = spawnSync(pgBin(bin), args, { ...user, encoding: 'utf8', cwd: dir, timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  };
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(pgBin('postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'synchronous_commit=off'], { ...user, stdio: 'ignore', cwd: dir });
    await waitPort(port, true, 30_000, 'postgres');
    // The port opens before the server takes connections; pg_isready says when it does.
    for (let i = 0; i < 100; i++) {
      if (spawnSync(pgBin('pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { ...user }).status === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the private PostgreSQL did not accept connections');
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    // SIGINT: PostgreSQL's fast shutdown (sessions are cut, as in an outage).
    c.kill('SIGINT');
    await exited;
    await waitPort(port, false, 10_000, 'postgres');
  };
  await start();
  run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'mosaic']);
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/mosaic`,
    start,
    stop,
    async close() {
      await stop();
      spawnSync('rm', ['-rf', dir]);
    },
  };
}
