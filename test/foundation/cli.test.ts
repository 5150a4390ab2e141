/** The `mosaic` command as an operator runs it: real processes, real databases. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { TokenStore } from '../../src/identity/token-store.ts';
import { createEmptyPgDatabase, redisPrefix } from '../support/databases.ts';

const BIN = path.resolve('bin/mosaic.js');
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn' };

function mosaic(args: string[], env: Record<string, string>, input?: string) {
  const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-cli-'));
  return spawnSync('node', [BIN, ...args], { cwd, env: { ...baseEnv, ...env }, input, encoding: 'utf8', timeout: 60_000 });
}

function freePort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

describe('mosaic CLI', () => {
  it('user create prints the token alone on its last line; the token works; list and token', async () => {
    const url = await createEmptyPgDatabase();
    const created = mosaic(['user', 'create', 'ops', '--admin', '--password-stdin'], { DATABASE_URL: url }, 'a long enough password\n');
    expect(created.status, created.stderr).toBe(0);
    const lines = created.stdout.trim().split('\n');
    const token = lines[lines.length - 1]!;
    expect(token).toMatch(/^mos_[A-Za-z0-9_-]{43}$/);
    const listed = mosaic(['user', 'list'], { DATABASE_URL: url });
    expect(listed.stdout).toMatch(/^ops\tadmin\t/m);
    const again = mosaic(['user', 'token', 'ops'], { DATABASE_URL: url });
    const second = again.stdout.trim().split('\n').pop()!;
    expect(second).toMatch(/^mos_/);
    expect(second).not.toBe(token);
    const database = await openDatabase({ url, dataDir: '' });
    try {
      const tokens = new TokenStore(database.db);
      expect((await tokens.authenticate(token))?.username).toBe('ops');
      expect((await tokens.authenticate(second))?.role).toBe('admin');
    } finally {
      await database.close();
    }
    const dup = mosaic(['user', 'create', 'ops'], { DATABASE_URL: url });
    expect(dup.status).toBe(1);
    expect(dup.stderr.trim()).toBe('mosaic: user "ops" already exists');
  });

  it('migrate applies once and is idempotent', async () => {
    const url = await createEmptyPgDatabase();
    const first = mosaic(['migrate'], { DATABASE_URL: url });
    expect(first.stdout).toMatch(/migrations: [1-9]\d* applied/);
    const second = mosaic(['migrate'], { DATABASE_URL: url });
    expect(second.stdout).toMatch(/migrations: 0 applied/);
  });

  it('config check accepts a good file and rejects a bad one in one line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-cfg-'));
    writeFileSync(path.join(dir, 'good.yaml'), 'http:\n  port: 3100\n');
    writeFileSync(path.join(dir, 'bad.yaml'), 'http:\n  port: -5\n');
    const good = mosaic(['config', 'check', path.join(dir, 'good.yaml')], {});
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('configuration is valid');
    const bad = mosaic(['config', 'check', path.join(dir, 'bad.yaml')], {});
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('http.port: got -5');
  });

  it('an unreachable DATABASE_URL or Valkey is one clear line and exit code 1', () => {
    const db = mosaic(['start'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', PORT: String(freePort()) });
    expect(db.status).toBe(1);
    expect(db.stderr.trim()).toMatch(/^mosaic: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/none is not reachable \(ECONNREFUSED\): start PostgreSQL or fix DATABASE_URL$/);
    const valkey = mosaic(['start'], { VALKEY_URL: 'redis://127.0.0.1:1', PORT: String(freePort()) });
    expect(valkey.status).toBe(1);
    expect(valkey.stderr.trim()).toMatch(/^mosaic: Valkey at redis:\/\/127\.0\.0\.1:1 is not reachable .*start Valkey or Redis, or set VALKEY_URL$/);
  }, 120_000); // two process starts: generous for a busy machine

  it('start with no config at all uses PGlite under ./data, answers /healthz and stops cleanly on SIGTERM', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-start-'));
    const port = freePort();
    const metricsPort = freePort();
    const child = spawn('node', [BIN, 'start'], { cwd, env: { ...baseEnv, PORT: String(port), METRICS_PORT: String(metricsPort), VALKEY_PREFIX: redisPrefix('start').replace(/:/g, '-') } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 45_000;
    while (!out.includes('Mosaic listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(out).toContain(`Mosaic listening on http://127.0.0.1:${port}`);
    expect(out).toContain(path.join(cwd, 'data', 'pglite'));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { ready: boolean };
    expect(ready.ready).toBe(true);
    // Metrics are on their own loopback listener, not on the API port.
    expect(out).toContain(`metrics on http://127.0.0.1:${metricsPort}/metrics`);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
