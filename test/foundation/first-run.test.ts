/**
 * The first run, as an operator does it — real processes only. The README's
 * steps 1–3 in two terminals on a fresh checkout: `npm start` on the embedded
 * database, `npx mosaic user create admin --admin` while it runs (through the
 * server's admin socket), the token works at once and after a restart. Then
 * what else an operator runs beside a server: user, route, jobs, migrate, a
 * second start, a crash and its stale lock; and PostgreSQL alike.
 */
import { statSync, existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyPgDatabase, redisPrefix } from '../support/databases.ts';
import { baseEnv, freePort, freshCheckout, getJson, lastLine, runMosaic, runMosaicRecordingImports, startServer, type ServerProcess } from '../support/processes.ts';

const prefix = () => redisPrefix('firstrun').replace(/:/g, '-');

describe("README steps 1–3 on a fresh checkout, in two terminals", () => {
  let clone: string;
  let server: ServerProcess | null = null;
  let env: Record<string, string>;
  beforeAll(async () => {
    clone = freshCheckout();
    env = { PORT: String(await freePort()), VALKEY_PREFIX: prefix() };
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('npm start, then npx mosaic user create admin --admin: the token works at once and after a restart (with a provider key)', async () => {
    // Terminal 1, step 1.
    server = await startServer({ cwd: clone, env, command: ['npm', 'start'] });
    expect(server.output()).toContain(`Mosaic listening on http://127.0.0.1:${env.PORT} (database: pglite ${path.join(clone, 'data', 'pglite')})`);
    expect(server.output()).toContain('no admin yet: create one with `npx mosaic user create admin --admin`');
    // Terminal 2, step 2.
    const created = spawnSync('npx', ['mosaic', 'user', 'create', 'admin', '--admin'], { cwd: clone, env: baseEnv(), encoding: 'utf8', timeout: 120_000 });
    expect(created.status, created.stderr).toBe(0);
    const token = lastLine(created.stdout);
    expect(token).toMatch(/^mos_[A-Za-z0-9_-]{43}$/);
    const me = await getJson(`${server.url}/api/me`, token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: 'admin', role: 'admin', disabledAt: null });

    // Step 3: a provider key, by restarting with it (Ctrl-C first: the server lets go of its data directory).
    await server.stop();
    expect(existsSync(path.join(clone, 'data', 'mosaic.lock'))).toBe(false);
    server = await startServer({ cwd: clone, env: { ...env, ANTHROPIC_API_KEY: 'sk-ant-readme-step-3' }, command: ['npm', 'start'] });
    expect(server.output()).not.toContain('no admin yet');
    expect((await getJson(`${server.url}/api/me`, token)).status).toBe(200);
    const health = (await getJson(`${server.url}/api/providers/health`, token)).body as { providers: Array<{ provider: string; status: string; hasSystemCredential: boolean }> };
    expect(health.providers.find((p) => p.provider === 'anthropic')).toMatchObject({ hasSystemCredential: true });
    expect(health.providers.find((p) => p.provider === 'openai')).toMatchObject({ status: 'not_configured', hasSystemCredential: false });
  }, 300_000);
});

describe('beside a running server on the embedded database', () => {
  let cwd: string;
  let env: Record<string, string>;
  let server: ServerProcess;
  let token: string;
  beforeAll(async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-owner-'));
    env = { PORT: String(await freePort()), VALKEY_PREFIX: prefix() };
    server = await startServer({ cwd, env });
    token = lastLine(runMosaic(['user', 'create', 'ops', '--admin'], { cwd }).stdout);
  }, 120_000);
  afterAll(async () => {
    await server.stop();
  });

  it('owns the data directory: a lock naming it, an admin socket only its user can use', () => {
    const lock = JSON.parse(readFileSync(path.join(cwd, 'data', 'mosaic.lock'), 'utf8')) as { pid: number; role: string; socket: string };
    expect(lock).toMatchObject({ pid: server.child.pid, role: 'server' });
    expect(statSync(lock.socket).mode & 0o777).toBe(0o600);
    expect(statSync(lock.socket).isSocket()).toBe(true);
  });

  it('runs user, route and jobs commands through the server', async () => {
    const list = runMosaic(['user', 'list'], { cwd });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ops\tadmin\t/m);
    const route = runMosaic(['route', '--json', 'What is the capital of Australia?'], { cwd });
    expect(route.status, route.stderr).toBe(0);
    expect(JSON.parse(route.stdout)).toMatchObject({ outcome: expect.any(String) });
    const queues = runMosaic(['jobs', 'queues'], { cwd });
    expect(queues.status, queues.stderr).toBe(0);
    expect(queues.stdout).toMatch(/^mosaic:replies\t/m);
    expect(queues.stdout).toMatch(/^mosaic:health-probes\t/m);
    // The token issued through the socket is the server's at once.
    const second = lastLine(runMosaic(['user', 'token', 'ops'], { cwd }).stdout);
    expect((await getJson(`${server.url}/api/me`, second)).status).toBe(200);
    // Asking the server loads nothing of the database or the services in the CLI process.
    const log = path.join(cwd, 'imports.log');
    const viaSocket = runMosaicRecordingImports(['user', 'list'], { cwd, log });
    expect(viaSocket.stdout).toMatch(/^ops\tadmin\t/m);
    for (const heavy of ['@electric-sql/pglite', 'drizzle-orm', 'bullmq', 'ioredis', 'express', 'src/main.', 'src/admin/operations.', 'src/admin/local-context.']) {
      expect(readFileSync(log, 'utf8'), `user list through the server loaded ${heavy}`).not.toContain(heavy);
    }
  }, 120_000);

  it('disables, enables and deletes users, at once', async () => {
    const { stdout } = runMosaic(['user', 'create', 'temp'], { cwd });
    const temp = lastLine(stdout);
    expect((await getJson(`${server.url}/api/me`, temp)).status).toBe(200);
    expect(runMosaic(['user', 'disable', 'temp'], { cwd }).stdout).toContain('disabled temp');
    expect((await getJson(`${server.url}/api/me`, temp)).status).toBe(401);
    expect(runMosaic(['user', 'list'], { cwd }).stdout).toMatch(/^temp\tmember\t\S+\t\S+\tdisabled$/m);
    runMosaic(['user', 'enable', 'temp'], { cwd });
    expect((await getJson(`${server.url}/api/me`, temp)).status).toBe(200);

    const conversation = await fetch(`${server.url}/api/conversations`, { method: 'POST', headers: { authorization: `Bearer ${temp}`, 'content-type': 'application/json' }, body: '{"title":"mine"}' });
    expect(conversation.status).toBe(201);
    const dry = runMosaic(['user', 'delete', 'temp'], { cwd });
    expect(dry.status).toBe(1);
    expect(dry.stdout).toContain('deleting temp removes the account and everything it owns: 1 conversation(s) with 0 message(s)');
    expect(dry.stderr.trim()).toBe('mosaic: nothing deleted: run `mosaic user delete temp --yes` to delete it (or `mosaic user disable temp` to keep its data)');
    expect((await getJson(`${server.url}/api/me`, temp)).status).toBe(200);
    const done = runMosaic(['user', 'delete', 'temp', '--yes'], { cwd });
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toContain('deleted temp and 1 conversation(s)');
    expect((await getJson(`${server.url}/api/me`, temp)).status).toBe(401);
    // The last enabled admin stays.
    const last = runMosaic(['user', 'disable', 'ops'], { cwd });
    expect(last.status).toBe(1);
    expect(last.stderr).toContain('cannot disable ops: it is the only enabled admin');
    expect((await getJson(`${server.url}/api/me`, token)).status).toBe(200);
  }, 120_000);

  it('refuses migrate and a second start on the same data directory, in one line', async () => {
    const migrate = runMosaic(['migrate'], { cwd });
    expect(migrate.status).toBe(1);
    expect(migrate.stderr.trim()).toMatch(new RegExp(`^mosaic: a running Mosaic server \\(pid ${server.child.pid}, since \\S+\\) owns the embedded database in \\./data and applied the migrations when it started; stop it before running \`mosaic migrate\`$`));
    const second = runMosaic(['start'], { cwd, env: { PORT: String(await freePort()), VALKEY_PREFIX: env.VALKEY_PREFIX! } });
    expect(second.status).toBe(1);
    expect(second.stderr.trim()).toMatch(/^mosaic: the embedded database in \S+ is in use by a running Mosaic server \(pid \d+, since \S+\): stop it first, or give this one its own data directory \(MOSAIC_DATA_DIR\) or a PostgreSQL database \(DATABASE_URL\)$/);
    expect((await getJson(`${server.url}/api/me`, token)).status).toBe(200);
  }, 120_000);

  it('after a crash, the stale lock is recovered: commands and the next start work, and the data is there', async () => {
    await server.crash();
    expect(existsSync(path.join(cwd, 'data', 'mosaic.lock'))).toBe(true);
    const list = runMosaic(['user', 'list'], { cwd });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ops\tadmin\t/m);
    server = await startServer({ cwd, env });
    expect((await getJson(`${server.url}/api/me`, token)).status).toBe(200);
  }, 120_000);
});

describe('beside a running server on PostgreSQL', () => {
  it('user create in another process works at once and after a restart', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-pg-'));
    const env = { DATABASE_URL: await createEmptyPgDatabase(), PORT: String(await freePort()), VALKEY_PREFIX: prefix() };
    let server = await startServer({ cwd, env });
    try {
      const created = runMosaic(['user', 'create', 'admin', '--admin'], { cwd, env });
      expect(created.status, created.stderr).toBe(0);
      const token = lastLine(created.stdout);
      expect((await getJson(`${server.url}/api/me`, token)).status).toBe(200);
      // No embedded database here: nothing is locked, nothing waits.
      expect(existsSync(path.join(cwd, 'data', 'mosaic.lock'))).toBe(false);
      await server.stop();
      server = await startServer({ cwd, env });
      expect((await getJson(`${server.url}/api/me`, token)).status).toBe(200);
    } finally {
      await server.stop();
    }
  }, 180_000);
});
