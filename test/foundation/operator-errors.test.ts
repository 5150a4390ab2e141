/**
 * What an operator sees when something is off, and what a plain start looks
 * like — real processes: a busy port, `config check` against what `start`
 * refuses, `registration -o` over an existing file, two installations on one
 * Valkey prefix, `--help`/`--version` loading nothing heavy, logs in a
 * terminal and out of one.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisPrefix } from '../support/databases.ts';
import { BIN, REPO, baseEnv, freePort, runMosaic, runMosaicRecordingImports, startServer } from '../support/processes.ts';

const tmp = (label: string) => mkdtempSync(path.join(tmpdir(), `mosaic-${label}-`));
const prefix = () => redisPrefix('operr').replace(/:/g, '-');
const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const used: string[] = [];
afterAll(async () => {
  // These prefixes hold no ':' (they pass through VALKEY_PREFIX), so the run's cleanup misses them.
  for (const p of used) {
    const keys = await redis.keys(`${p}:*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});
const ownPrefix = () => {
  const p = prefix();
  used.push(p);
  return p;
};

describe('a busy port', () => {
  it('is one line naming the port and the setting, before anything else starts', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    const cwd = tmp('busy');
    const valkeyPrefix = ownPrefix();
    try {
      const result = runMosaic(['start'], { cwd, env: { PORT: String(port), VALKEY_PREFIX: valkeyPrefix } });
      expect(result.status).toBe(1);
      expect(result.stderr.trim()).toBe(`mosaic: port ${port} on 127.0.0.1 is already in use (another Mosaic?): stop what uses it, or set PORT (http.port) to a free port`);
      // Nothing was opened: no database folder, no job queue, no schedule.
      expect(existsSync(path.join(cwd, 'data'))).toBe(false);
      expect(await redis.keys(`${valkeyPrefix}:*`)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 60_000);
});

describe('mosaic config check', () => {
  it('refuses what start refuses: a short MOSAIC_SECRET_KEY, a missing registration file', async () => {
    const cwd = tmp('check');
    const env = { MOSAIC_SECRET_KEY: 'short', PORT: String(await freePort()), VALKEY_PREFIX: ownPrefix() };
    const check = runMosaic(['config', 'check'], { cwd, env });
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/^✗ secrets: secret key "k1" is too short: use at least \d+ random characters/m);
    expect(check.stdout).toMatch(/^configuration check failed/m);
    const start = runMosaic(['start'], { cwd, env });
    expect(start.status).toBe(1);
    expect(start.stderr).toMatch(/^mosaic: secret key "k1" is too short/);

    const matrix = { MATRIX_ENABLED: 'true', MATRIX_REGISTRATION_FILE: path.join(cwd, 'missing.yaml'), PORT: env.PORT, VALKEY_PREFIX: env.VALKEY_PREFIX };
    const checkMatrix = runMosaic(['config', 'check'], { cwd, env: matrix });
    expect(checkMatrix.status).toBe(1);
    const line = /^✗ matrix: (.*)$/m.exec(checkMatrix.stdout)?.[1];
    expect(line).toContain('missing.yaml');
    const startMatrix = runMosaic(['start'], { cwd, env: matrix });
    expect(startMatrix.status).toBe(1);
    expect(startMatrix.stderr.trim()).toBe(`mosaic: ${line}`);
  }, 120_000);

  it('says where the file came from', () => {
    const cwd = tmp('check-file');
    writeFileSync(path.join(cwd, 'mosaic.yaml'), 'http:\n  port: 0\n');
    const named = runMosaic(['config', 'check', 'mosaic.yaml'], { cwd, env: { VALKEY_PREFIX: ownPrefix() } });
    expect(named.stdout, named.stderr).toContain(`✓ configuration: valid (${path.join(cwd, 'mosaic.yaml')}, from the command line)`);
    const missing = runMosaic(['config', 'check', 'nope.yaml'], { cwd });
    expect(missing.stderr.trim()).toBe(`mosaic: config: file ${path.join(cwd, 'nope.yaml')} does not exist (from the command line)`);
    const viaEnv = runMosaic(['config', 'check'], { cwd, env: { MOSAIC_CONFIG: 'mosaic.yaml', VALKEY_PREFIX: ownPrefix() } });
    expect(viaEnv.stdout).toContain('from MOSAIC_CONFIG)');
    const viaFlag = runMosaic(['--config', 'mosaic.yaml', 'config', 'check'], { cwd, env: { VALKEY_PREFIX: ownPrefix() } });
    expect(viaFlag.stdout).toContain('from --config)');
  }, 60_000);
});

describe('mosaic registration -o', () => {
  it('refuses to replace an existing file unless told to (--force), and says why', () => {
    const cwd = tmp('reg');
    const file = path.join(cwd, 'reg.yaml');
    expect(runMosaic(['registration', '-o', file], { cwd }).status).toBe(0);
    const first = readFileSync(file, 'utf8');
    const again = runMosaic(['registration', '-o', file], { cwd });
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toBe(`mosaic: ${file} exists and the homeserver may already know its tokens: replacing them breaks the registered appservice. Keep it (--if-missing), or replace it with --force and register the new file with the homeserver`);
    expect(readFileSync(file, 'utf8')).toBe(first);
    expect(runMosaic(['registration', '-o', file, '--if-missing'], { cwd }).stdout).toContain('exists; left as it is');
    expect(runMosaic(['registration', '-o', file, '--force'], { cwd }).status).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toBe(first);
  });
});

describe('one installation per Valkey prefix', () => {
  it('a second installation on the same prefix is refused in one line naming both databases and VALKEY_PREFIX', async () => {
    const valkeyPrefix = ownPrefix();
    const first = tmp('install-a');
    const second = tmp('install-b');
    const a = await startServer({ cwd: first, env: { PORT: String(await freePort()), VALKEY_PREFIX: valkeyPrefix } });
    await a.stop();
    const b = runMosaic(['start'], { cwd: second, env: { PORT: String(await freePort()), VALKEY_PREFIX: valkeyPrefix } });
    expect(b.status).toBe(1);
    expect(b.stderr.trim()).toBe(
      `mosaic: Valkey prefix "${valkeyPrefix}" on redis://127.0.0.1:6379 belongs to another Mosaic installation (database ${path.join(first, 'data', 'pglite')}); this one uses ${path.join(second, 'data', 'pglite')}: give each installation its own prefix with VALKEY_PREFIX (valkey.keyPrefix)`,
    );
    // The owner itself starts again on it.
    const again = await startServer({ cwd: first, env: { PORT: String(await freePort()), VALKEY_PREFIX: valkeyPrefix } });
    await again.stop();
  }, 120_000);
});

describe('a fast CLI', () => {
  it('--version prints the version; --help and --version load nothing heavy', () => {
    const cwd = tmp('help');
    const version = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version as string;
    for (const args of [['--help'], ['--version'], ['user', '--help']]) {
      const log = path.join(cwd, `imports-${args.join('')}.log`);
      const run = runMosaicRecordingImports(args, { cwd, log });
      expect(run.status, run.stderr).toBe(0);
      if (args[0] === '--version') expect(run.stdout.trim()).toBe(version);
      const loaded = readFileSync(log, 'utf8');
      for (const heavy of ['@electric-sql/pglite', 'drizzle-orm', 'bullmq', 'ioredis', 'express', 'pino', 'zod', 'openai', '@anthropic-ai', 'src/main.', 'src/services.']) {
        expect(loaded, `${args.join(' ')} loaded ${heavy}`).not.toContain(heavy);
      }
    }
  }, 60_000);
});


describe('logs', () => {
  it('a default start logs JSON with no warning, and nothing about a channel that is off', async () => {
    const cwd = tmp('logs');
    const server = await startServer({ cwd, env: { LOG_LEVEL: 'info', PORT: String(await freePort()), VALKEY_PREFIX: ownPrefix() } });
    // Give the first health probe time to run too (it runs at once): its result is logged at info.
    await new Promise((r) => setTimeout(r, 1500));
    await server.stop();
    const lines = server.output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(3);
    const records = lines.map((l) => JSON.parse(l) as { level: number; msg: string; plugin?: string; channel?: string });
    expect(records.filter((r) => r.level >= 40).map((r) => r.msg)).toEqual([]);
    expect(records.filter((r) => r.plugin === 'matrix' || r.channel === 'matrix' || /matrix/i.test(r.msg))).toEqual([]);
  }, 120_000);

  it('in a terminal: progress lines and readable logs, no JSON', async () => {
    const cwd = tmp('tty');
    const port = await freePort();
    // `script` gives the process a pseudo-terminal, as a person's shell would.
    const child = spawn('script', ['-qfec', `node ${BIN} start`, '/dev/null'], { cwd, env: baseEnv({ LOG_LEVEL: 'info', PORT: String(port), VALKEY_PREFIX: ownPrefix() }), detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 90_000;
      while (!out.includes('Mosaic listening on') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('Mosaic listening on');
      expect(out).toMatch(/Starting Mosaic \S+ \(no config file: defaults and environment\)/);
      expect(out).toContain(`database: pglite ${path.join(cwd, 'data', 'pglite')}`);
      expect(out).toMatch(/migrations: \d+ applied/);
      expect(out).toContain('valkey: connected');
      expect(out).toMatch(/INFO.*database ready/);
      expect(out).not.toContain('{"level"');
    } finally {
      process.kill(-child.pid!, 'SIGINT');
      await exited;
    }
  }, 120_000);
});
