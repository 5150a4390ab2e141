#!/usr/bin/env node
// The `mosaic` command: the core CLI (src/cli.ts) plus the channels that plug
// into it (appservice/). Wiring happens here so src/ never imports channels.
// Runs the TypeScript sources through tsx, or the compiled build in an
// image that ships no sources.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// The compiled build is used where there are no sources (the Docker image),
// so a checkout never runs a stale dist/ by accident.
const built = existsSync(path.join(root, 'dist', 'src', 'cli.js')) && !existsSync(path.join(root, 'src', 'cli.ts'));
if (!built) {
  const { register } = await import('tsx/esm/api');
  register();
}
const load = (rel) => import(pathToFileURL(path.join(root, built ? 'dist' : '', built ? rel.replace(/\.ts$/, '.js') : rel)).href);
const { runCli } = await load('src/cli.ts');
const extensionsFile = path.join(root, built ? 'dist' : '', built ? 'appservice/cli-extension.js' : 'appservice/cli-extension.ts');
const ext = existsSync(extensionsFile) ? (await import(pathToFileURL(extensionsFile).href)).cliExtensions() : {};
await runCli(process.argv, ext);
