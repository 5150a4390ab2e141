/**
 * The Docker image, without a Docker engine: the build stage is replayed in
 * a temporary folder (the build context as .dockerignore leaves it, then the
 * Dockerfile's `npm run build`), every COPY source must exist there, and the
 * final image's layout (only what is copied: no sources) must run — the
 * version, `config check`, `migrate`, and a start that answers /healthz
 * and serves the web client at /.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEmptyPgDatabase, redisPrefix } from '../support/databases.ts';
import { readJournal } from '../../src/db/migrate.ts';

interface CopyInstruction {
  stage: string;
  from: string | null;
  sources: string[];
  line: number;
}

/** The COPY instructions of a Dockerfile, per stage (shell and JSON forms). */
function copyInstructions(dockerfile: string): CopyInstruction[] {
  const out: CopyInstruction[] = [];
  let stage = '';
  dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
      if (from) stage = from[1] ?? `stage${i}`;
      if (!/^COPY\s/i.test(line)) return;
      let rest = line.slice(4).trim();
      let fromStage: string | null = null;
      for (let flag = /^--(\w+)(?:=(\S+))?\s+/.exec(rest); flag; flag = /^--(\w+)(?:=(\S+))?\s+/.exec(rest)) {
        if (flag[1] === 'from') fromStage = flag[2] ?? null;
        rest = rest.slice(flag[0].length);
      }
      const args = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
      out.push({ stage, from: fromStage, sources: args.slice(0, -1), line: i + 1 });
    });
  return out;
}

/** Whether .dockerignore keeps a path out of the build context (its simple patterns: names and `*` globs). */
function ignored(patterns: string[], file: string): boolean {
  return patterns.some((p) => {
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`);
    return re.test(file) || (!p.includes('/') && file.split('/').some((part) => re.test(part)));
  });
}

const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', METRICS_PORT: '0' };

describe('the Docker image', () => {
  it('has every COPY source after the build stage, and its layout runs without sources', async () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const patterns = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
    const context = listed.stdout.split('\n').filter((f) => f && existsSync(f) && !ignored(patterns, f));
    expect(context).toContain('package.json');

    // The build stage: the context copied in, node_modules from `npm ci`, then `npm run build`.
    const app = path.join(mkdtempSync(path.join(tmpdir(), 'mosaic-image-')), 'app');
    for (const file of context) {
      mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
      cpSync(file, path.join(app, file));
    }
    symlinkSync(path.resolve('node_modules'), path.join(app, 'node_modules'), 'dir');
    expect(dockerfile).toMatch(/RUN npm run build/);
    const build = spawnSync('npm', ['run', 'build'], { cwd: app, env, encoding: 'utf8', timeout: 300_000 });
    expect(build.status, build.stdout + build.stderr).toBe(0);

    const copies = copyInstructions(dockerfile);
    expect(copies.length).toBeGreaterThan(3);
    const missing: string[] = [];
    for (const copy of copies) {
      for (const source of copy.sources) {
        const where = copy.from ? path.join(app, path.relative('/app', source)) : path.join(app, source);
        if (!existsSync(where)) missing.push(`line ${copy.line}: COPY ${copy.from ? `--from=${copy.from} ` : ''}${source}`);
      }
    }
    expect(missing, `COPY sources that do not exist after the build:\n${missing.join('\n')}`).toEqual([]);

    // The final stage: only what it copies (no src/), run the way its ENTRYPOINT runs it.
    const image = mkdtempSync(path.join(tmpdir(), 'mosaic-final-'));
    for (const copy of copies.filter((c) => c.from === 'build')) {
      for (const source of copy.sources) {
        const rel = path.relative('/app', source);
        if (rel === 'node_modules') symlinkSync(path.resolve('node_modules'), path.join(image, 'node_modules'), 'dir');
        else cpSync(path.join(app, rel), path.join(image, rel), { recursive: true });
      }
    }
    expect(existsSync(path.join(image, 'src'))).toBe(false);
    const run = (args: string[], extra: Record<string, string> = {}) => spawnSync('node', ['bin/mosaic.js', ...args], { cwd: image, env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });
    expect(run(['--version']).stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    writeFileSync(path.join(image, 'config.yaml'), 'http:\n  port: 0\n');
    const check = run(['config', 'check']);
    expect(check.stdout, check.stderr).toContain(`✓ configuration: valid (${path.join(image, 'config.yaml')}, from ./config.yaml in the working directory)`);
    const url = await createEmptyPgDatabase();
    const migrate = run(['migrate'], { DATABASE_URL: url });
    expect(migrate.stdout, migrate.stderr).toContain(`migrations: ${readJournal().length} applied`);

    const child = spawn('node', ['bin/mosaic.js', 'start'], { cwd: image, env: { ...env, DATABASE_URL: url, VALKEY_PREFIX: redisPrefix('image') } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!/Mosaic listening on (\S+)/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const base = /Mosaic listening on (\S+)/.exec(out)?.[1];
      expect(base, out).toBeTruthy();
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(((await (await fetch(`${base}/api/openapi.json`)).json()) as { openapi: string }).openapi).toBe('3.1.0');
      // The web client's build is in the image and served at / (no CDN: its script is one of ours).
      const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
      const html = await page.text();
      expect(page.status).toBe(200);
      const script = /<script type="module" src="(\/assets\/app-[\w-]+\.js)"><\/script>/.exec(html)?.[1];
      expect(script, html).toBeTruthy();
      expect((await fetch(`${base}${script}`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 420_000);
});
