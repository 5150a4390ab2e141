/**
 * How fast the web client opens, as a person opens it: `mosaic start` (the
 * build `npm ci` makes, embedded PGlite) and Debian's Chromium through
 * playwright-core. Each run is a fresh browser context (empty cache):
 *
 * - first load: navigation → the sign-in form usable (its Username field
 *   visible), with the browser's own first-contentful-paint and load times;
 * - signing in: the click → the chat page usable (its conversation list
 *   drawn, *New conversation* visible);
 * - reload while signed in: navigation → the chat page usable, warm cache.
 *
 *   node bin/run-ts.js bench/web-first-load.ts [runs]
 *
 * Prints medians and the slowest of each, in milliseconds. Needs Redis on
 * VALKEY_URL or 127.0.0.1:6379 and /usr/bin/chromium.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildIsFresh } from '../bin/build-stamp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'mosaic.js');
const runs = Number(process.argv[2] ?? 7);
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'a bench password, long enough';
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', METRICS_PORT: '0', PORT: '0', VALKEY_PREFIX: `bench-web-${process.pid}` };

if (!existsSync(CHROMIUM)) {
  console.log(`${CHROMIUM} is missing (apt-get install chromium): nothing measured`);
  process.exit(1);
}
if (!buildIsFresh(root) || !existsSync(path.join(root, 'clients', 'web', 'dist', 'index.html'))) {
  console.log('building first…');
  if (spawnSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { stdio: 'inherit' }).status !== 0) process.exit(1);
}

const summary = (label: string, samples: number[]) => {
  samples.sort((a, b) => a - b);
  console.log(`${label.padEnd(52)} median ${samples[Math.floor(samples.length / 2)]!.toFixed(0).padStart(5)} ms   max ${samples.at(-1)!.toFixed(0).padStart(5)} ms   (${samples.length} runs)`);
};

const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-bench-web-'));
const server = spawn(process.execPath, [bin, 'start'], { cwd, env });
try {
  let out = '';
  server.stdout.on('data', (d) => (out += d));
  server.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 120_000;
  while (!/Mosaic listening on http:\/\/\S+/.test(out) && Date.now() < deadline && server.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  const base = /Mosaic listening on (http:\/\/\S+)/.exec(out)?.[1];
  if (!base) throw new Error(`mosaic start did not come up: ${out}`);
  const created = spawnSync(process.execPath, [bin, 'user', 'create', 'bench', '--password-stdin'], { cwd, env, input: `${PASSWORD}\n`, encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`user create failed: ${created.stderr}`);

  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const first: number[] = [];
  const fcp: number[] = [];
  const load: number[] = [];
  const signIn: number[] = [];
  const reload: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      let t = performance.now();
      await page.goto(base, { waitUntil: 'commit' });
      await page.getByLabel('Username').waitFor();
      const firstMs = performance.now() - t;
      const timing = await page.evaluate(
        `(async () => { await new Promise((r) => document.readyState === 'complete' ? r() : addEventListener('load', r)); const n = performance.getEntriesByType('navigation')[0]; const p = performance.getEntriesByName('first-contentful-paint')[0]; return { load: n.loadEventEnd, fcp: p ? p.startTime : NaN }; })()`,
      ) as { load: number; fcp: number };
      await page.getByLabel('Username').fill('bench');
      await page.getByLabel('Password').fill(PASSWORD);
      t = performance.now();
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      await page.getByRole('button', { name: 'New conversation' }).waitFor();
      const signInMs = performance.now() - t;
      t = performance.now();
      await page.reload({ waitUntil: 'commit' });
      await page.getByRole('button', { name: 'New conversation' }).waitFor();
      const reloadMs = performance.now() - t;
      await context.close();
      if (i === 0) continue; // the server's first answers warm its own caches: not a person's first load
      first.push(firstMs);
      if (Number.isFinite(timing.fcp)) fcp.push(timing.fcp);
      load.push(timing.load);
      signIn.push(signInMs);
      reload.push(reloadMs);
    }
  } finally {
    await browser.close();
  }
  console.log(`web client first load, ${runs} runs, fresh browser context each (empty cache), ${base}`);
  summary('first load: navigation → sign-in form usable', first);
  if (fcp.length) summary('first load: first contentful paint (browser)', fcp);
  summary('first load: load event (browser)', load);
  summary('sign in: click → chat page usable', signIn);
  summary('reload signed in (warm cache) → chat page usable', reload);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
  rmSync(cwd, { recursive: true, force: true });
  const { Redis } = await import('ioredis');
  const redis = new Redis(process.env.VALKEY_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const keys = await redis.keys(`${env.VALKEY_PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
}
