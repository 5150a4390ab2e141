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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { benchEnv, bin, deleteValkeyKeys, ensureBuild, startMosaic, type MosaicServer } from './support/mosaic-process.ts';

const runs = Number(process.argv[2] ?? 7);
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'a bench password, long enough';
const env = benchEnv('web');

if (!existsSync(CHROMIUM)) {
  console.log(`${CHROMIUM} is missing (apt-get install chromium): nothing measured`);
  process.exit(1);
}
ensureBuild({ webClient: true });

const summary = (label: string, samples: number[]) => {
  samples.sort((a, b) => a - b);
  console.log(`${label.padEnd(52)} median ${samples[Math.floor(samples.length / 2)]!.toFixed(0).padStart(5)} ms   max ${samples.at(-1)!.toFixed(0).padStart(5)} ms   (${samples.length} runs)`);
};

const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-bench-web-'));
let server: MosaicServer | null = null;
try {
  server = await startMosaic(cwd, env);
  const base = server.url;
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
  await server?.stop();
  rmSync(cwd, { recursive: true, force: true });
  await deleteValkeyKeys(env.VALKEY_PREFIX);
}
