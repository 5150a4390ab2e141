/**
 * `mosaic retention` as an operator runs it: real processes, `mosaic start`
 * on the embedded database (PGlite) and the commands in another terminal,
 * which reach the running server through its admin socket (it owns the
 * database). Output checked; a bad value is one line on stderr and exit 1.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisPrefix } from '../support/databases.ts';
import { baseEnv, BIN, freePort, startServer, type ServerProcess } from '../support/processes.ts';
import { until } from '../appservice/support.ts';

let server: ServerProcess;
let cwd: string;

beforeAll(async () => {
  cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-retention-cli-'));
  server = await startServer({ cwd, env: { PORT: String(await freePort()), VALKEY_PREFIX: redisPrefix('retcli').replace(/:/g, '-'), METRICS_PORT: '0' } });
}, 180_000);
afterAll(async () => {
  await server?.stop();
});

/** A second terminal beside the running server. */
function mosaic(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], { cwd, env: baseEnv({ LOG_LEVEL: 'warn' }), timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** A refusal as a person sees it: exit 1, nothing on stdout, one `mosaic: …` line on stderr. */
function expectOneLineError(r: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mosaic: /);
  expect(lines[0]).toMatch(pattern);
}

describe('mosaic retention beside a running server on the embedded database', () => {
  it('show, set and set-conversation print the policies; bad values are one clear line and exit 1', async () => {
    const shown = await mosaic('retention', 'show');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.trim().split('\n')).toEqual(['personal\t365 days\t(config)', 'team\t730 days\t(config)', 'agent\t90 days\t(config)', 'system\t1825 days\t(config)']);

    const set = await mosaic('retention', 'set', 'agent', '30');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('agent: 30 days\n');
    const forever = await mosaic('retention', 'set', 'team', 'forever');
    expect(forever.stdout).toBe('team: forever\n');
    const json = await mosaic('retention', 'show', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { kinds: unknown[] }).kinds).toEqual([
      { kind: 'personal', days: 365, source: 'config', configured: 365 },
      { kind: 'team', days: null, source: 'admin-kind', configured: 730 },
      { kind: 'agent', days: 30, source: 'admin-kind', configured: 90 },
      { kind: 'system', days: 1825, source: 'config', configured: 1825 },
    ]);
    const after = await mosaic('retention', 'show');
    expect(after.stdout).toContain('agent\t30 days\t(admin; config says 90 days)\n');
    expect((await mosaic('retention', 'set', 'team', 'default')).stdout).toBe('team: the configured default\n');

    expectOneLineError(await mosaic('retention', 'set', 'agent', '0'), /expected a number of days \(1–36500\), "forever" or "default", got "0"/);
    expectOneLineError(await mosaic('retention', 'set', 'agent', 'soon'), /got "soon"/);
    expectOneLineError(await mosaic('retention', 'set', 'audit', '30'), /unknown room kind "audit": expected one of personal, team, agent, system/);
    expectOneLineError(await mosaic('retention', 'set-conversation', '00000000-0000-4000-8000-000000000000', '7'), /^mosaic: conversation not found$/);
    expectOneLineError(await mosaic('retention', 'set-conversation', 'nope', '7'), /"nope" is not a conversation id: expected a UUID/);
    expectOneLineError(await mosaic('retention', 'show', '--conversation', 'nope'), /"nope" is not a conversation id/);
    // Refused values changed nothing.
    expect((await mosaic('retention', 'show')).stdout).toContain('agent\t30 days\t(admin; config says 90 days)\n');
  });

  it('run queues the purge in the server; `mosaic jobs show` gives its counts', async () => {
    const run = await mosaic('retention', 'run');
    expect(run.code, run.stderr).toBe(0);
    const id = /^retention purge queued: (\S+) \(see `mosaic jobs show \1`\)$/.exec(run.stdout.trim())?.[1];
    expect(id, run.stdout).toBeDefined();
    const detail = await until('the purge to finish in the server', async () => {
      const shown = await mosaic('jobs', 'show', id!);
      expect(shown.code, shown.stderr).toBe(0);
      const job = JSON.parse(shown.stdout) as { state: string; returnValue: Record<string, unknown> | null };
      return job.state === 'completed' || job.state === 'failed' ? job : null;
    }, 60_000);
    expect(detail.state).toBe('completed');
    expect(detail.returnValue).toMatchObject({ conversationsChecked: 0, messagesDeleted: 0, messagesFailed: 0, agentRoomsChecked: 0, agentRoomEvents: 0 });
  });
});
