#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` builds): compiles the
// TypeScript sources into dist/, bundles the web client into clients/web/dist, and records which sources it was built from
// (bin/build-stamp.js), so bin/mosaic.js runs the build only while it
// matches the sources. Without TypeScript installed (`npm ci --omit=dev`)
// it says so and leaves bin/mosaic.js to run the sources.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP_FILE, computeStamp } from '../bin/build-stamp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let tsc;
try {
  tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  console.log('mosaic build: skipped, TypeScript is not installed (dev dependencies omitted); `mosaic` runs the sources');
  process.exit(0);
}
if (!existsSync(path.join(root, 'src', 'cli.ts'))) {
  console.log('mosaic build: no sources here; nothing to build');
  process.exit(0);
}

// Built aside and swapped in, so a running `mosaic` never sees half a build.
const stamp = computeStamp(root);
const next = path.join(root, 'dist.next');
rmSync(next, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', next], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  rmSync(next, { recursive: true, force: true });
  console.error('mosaic build: TypeScript reported errors; dist/ was left as it was');
  process.exit(result.status ?? 1);
}
writeFileSync(path.join(next, path.basename(STAMP_FILE)), `${JSON.stringify(stamp)}\n`);
const old = path.join(root, 'dist.old');
rmSync(old, { recursive: true, force: true });
if (existsSync(path.join(root, 'dist'))) renameSync(path.join(root, 'dist'), old);
renameSync(next, path.join(root, 'dist'));
rmSync(old, { recursive: true, force: true });
console.log(`mosaic build: dist/ built from ${stamp.files.length} source files`);

// The web client (its own bundle, served at / by `mosaic start`).
const { buildWebClient } = await import('../clients/web/build.mjs');
await buildWebClient();
