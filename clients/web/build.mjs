// Builds the web client into clients/web/dist: index.html, and under
// assets/ the bundled, minified JavaScript and CSS with a hash of their
// content in the name (cached for good by the server). Run by
// `npm run build` (scripts/build.js) and so by `npm ci`; `node
// clients/web/build.mjs` builds it alone. esbuild is the bundler: it is
// already installed for tsx (no install script needed), builds in well
// under a second, and code splitting keeps the syntax highlighter out of
// the first load.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Builds; returns the gzipped size of the JavaScript the chat page loads first, or null when skipped. */
export async function buildWebClient({ quiet = false } = {}) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
    await import('preact');
  } catch {
    if (!quiet) console.log('web client build: skipped, its build tools are not installed (dev dependencies omitted)');
    return null;
  }
  const out = path.join(here, 'dist.next');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: { app: 'src/main.tsx' },
    bundle: true,
    splitting: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { 'process.env.NODE_ENV': '"production"' },
    outdir: out,
    entryNames: 'assets/[name]-[hash]',
    chunkNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  const entry = outputs.find(([, o]) => o.entryPoint === 'src/main.tsx');
  if (!entry) throw new Error('web client build: esbuild produced no entry bundle');
  const [js, meta] = entry;
  const css = meta.cssBundle;
  const rel = (p) => `/${path.relative(out, path.join(here, p)).split(path.sep).join('/')}`;
  const template = readFileSync(path.join(here, 'index.html'), 'utf8');
  const html = template
    .replace('<!-- styles -->', css ? `<link rel="stylesheet" href="${rel(css)}">` : '')
    .replace('<!-- script -->', `<script type="module" src="${rel(js)}"></script>`);
  writeFileSync(path.join(out, 'index.html'), html);
  // What the first load of the chat page fetches: the entry and the chunks it imports statically.
  const firstLoad = new Set([js, ...meta.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path)]);
  const gz = (files) => [...files].reduce((n, f) => n + gzipSync(readFileSync(path.join(here, f))).length, 0);
  const sizes = { js: gz(firstLoad), css: css ? gz([css]) : 0 };
  const dist = path.join(here, 'dist');
  const old = path.join(here, 'dist.old');
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(out, dist);
  rmSync(old, { recursive: true, force: true });
  writeFileSync(path.join(dist, 'sizes.json'), `${JSON.stringify(sizes)}\n`);
  if (!quiet) console.log(`web client build: clients/web/dist (first load: ${(sizes.js / 1024).toFixed(1)} KiB of JavaScript and ${(sizes.css / 1024).toFixed(1)} KiB of CSS, gzipped)`);
  return sizes;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildWebClient();
