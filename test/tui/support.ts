/** The terminal client as a person or a script runs it: `node bin/mosaic.js …` in its own process, its own config and state folders. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, baseEnv } from '../support/processes.ts';

export interface ClientHome {
  dir: string;
  env: Record<string, string>;
}

/** A fresh home for the client: XDG config and state folders nobody else uses. */
export function clientHome(): ClientHome {
  const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-tui-home-'));
  return { dir, env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state'), MOSAIC_RUN_SOURCES: '1' } };
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `mosaic <args>` without blocking this process (the gateway under test
 * runs in it and must keep answering). Standard input is `input` when given,
 * closed otherwise — a pipe, never a terminal.
 */
export function runClient(args: string[], options: { env: Record<string, string>; input?: string; timeoutMs?: number; onStart?: (pid: number) => void }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [BIN, ...args], { env: baseEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    if (child.pid) options.onStart?.(child.pid);
    child.stdin.end(options.input ?? '');
  });
}
