/**
 * How fast the `mosaic` command answers, as an operator runs it (a new
 * process each time, from the build `npm ci` makes): `--help`, `--version`,
 * `user list` on the embedded database with no server, and `user list` and
 * `user create` while a server runs on it (through its admin socket).
 *
 *   npm run bench            (all benchmarks)
 *   node bin/run-ts.js bench/cli.ts [runs]
 *
 * Prints the median and the slowest of each, in milliseconds. Needs Redis
 * (for the server) on VALKEY_URL or 127.0.0.1:6379.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { benchEnv, bin, deleteValkeyKeys, ensureBuild, startMosaic } from './support/mosaic-process.ts';

const runs = Number(process.argv[2] ?? 7);
const env = benchEnv('cli');

ensureBuild();

function time(args: string[], cwd: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`mosaic ${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

function measure(label: string, args: string[] | ((i: number) => string[]), cwd: string): void {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(time(typeof args === 'function' ? args(i) : args, cwd));
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  console.log(`${label.padEnd(44)} median ${median.toFixed(0).padStart(5)} ms   max ${samples.at(-1)!.toFixed(0).padStart(5)} ms   (${runs} runs)`);
}

const cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-bench-cli-'));
try {
  console.log(`mosaic CLI, ${runs} runs each, node ${process.version}`);
  measure('mosaic --help', ['--help'], cwd);
  measure('mosaic --version', ['--version'], cwd);
  // The first call creates and migrates the embedded database: not measured.
  time(['user', 'create', 'bench-admin', '--admin'], cwd);
  measure('mosaic user list (no server, PGlite)', ['user', 'list'], cwd);

  const server = await startMosaic(cwd, env);
  try {
    measure('mosaic user list (server running, via socket)', ['user', 'list'], cwd);
    measure('mosaic user create (server running)', (i) => ['user', 'create', `bench-${i}`], cwd);
  } finally {
    await server.stop();
  }
} finally {
  rmSync(cwd, { recursive: true, force: true });
  await deleteValkeyKeys(env.VALKEY_PREFIX);
}
