#!/usr/bin/env node
// The `mosaic` command: the core CLI (src/cli.ts) plus the channels that plug
// into it (appservice/). Wiring happens here so src/ never imports channels.
// Uses the compiled build when present (Docker image), else the TypeScript
// sources through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const built = existsSync(path.join(root, 'dist', 'src', 'cli.js')) && process.env.MOSAIC_FROM_SOURCE !== '1';
if (!built) {
  const { register } = await import('tsx/esm/api');
  register();
}
const load = (rel) => import(pathToFileURL(path.join(root, built ? 'dist' : '', built ? rel.replace(/\.ts$/, '.js') : rel)).href);
const { runCli } = await load('src/cli.ts');
const extensionsFile = path.join(root, built ? 'dist' : '', built ? 'appservice/cli-extension.js' : 'appservice/cli-extension.ts');
const ext = existsSync(extensionsFile) ? (await import(pathToFileURL(extensionsFile).href)).cliExtensions() : {};
await runCli(process.argv, ext);
