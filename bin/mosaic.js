#!/usr/bin/env node
// The `mosaic` command: the core CLI (src/cli.ts) plus the channels that plug
// into it (appservice/). Wiring happens here so src/ never imports channels.
//
// It runs the compiled build (dist/, made by `npm ci` through `prepare`, or
// `npm run build`) when that build matches the sources beside it, and the
// TypeScript sources through tsx otherwise (development: a build older than
// the sources is never run). The image ships the build without sources.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { buildIsFresh } from './build-stamp.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const hasSources = existsSync(path.join(root, 'src', 'cli.ts'));
const hasBuild = existsSync(path.join(root, 'dist', 'src', 'cli.js'));
const built = hasBuild && (!hasSources || (process.env.MOSAIC_RUN_SOURCES !== '1' && buildIsFresh(root)));
if (!built) {
  if (!hasSources) {
    console.error('mosaic: neither dist/ nor src/ is here: run `npm run build` in a checkout');
    process.exit(1);
  }
  const { register } = await import('tsx/esm/api');
  register();
}
const file = (rel) => path.join(root, built ? path.join('dist', rel.replace(/\.ts$/, '.js')) : rel);
const { runCli } = await import(pathToFileURL(file('src/cli.ts')).href);
const extensionsFile = file('appservice/cli-extension.ts');
const ext = existsSync(extensionsFile) ? (await import(pathToFileURL(extensionsFile).href)).cliExtensions() : {};
// The terminal client's subcommands (login, logout, chat, tui): clients/ reach Mosaic only through its API.
const clientCommandsFile = file('clients/tui/cli-commands.ts');
if (existsSync(clientCommandsFile)) {
  const { registerClientCommands } = await import(pathToFileURL(clientCommandsFile).href);
  ext.commands = [...(ext.commands ?? []), registerClientCommands];
}
// The web client's build, when `npm run build` made it (the image has it); `mosaic start` serves it at /.
const webClientDir = path.join(root, 'clients', 'web', 'dist');
await runCli(process.argv, { ...ext, ...(existsSync(path.join(webClientDir, 'index.html')) ? { webClientDir } : {}) });
