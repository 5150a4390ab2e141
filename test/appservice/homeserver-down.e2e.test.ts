/**
 * A homeserver that is down when Mosaic starts does not stop it: `mosaic
 * start` (a real process, as an operator runs it) serves the REST API and
 * /readyz reports the Matrix channel `disconnected`; once the homeserver
 * comes up, the channel reaches it by itself and answers in Matrix — no
 * restart.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PROVIDER_NAMES, type ProviderName } from '../../src/providers/types.ts';
import { generateRegistration, renderRegistration } from '../../appservice/transport/registration.ts';
import { TestHomeserver } from '../homeserver/index.ts';
import { simulatorProviderConfig, startSimulator, type AnySimulator } from '../simulators/index.ts';
import { createEmptyPgDatabase, redisPrefix } from '../support/databases.ts';
import { ASSISTANT_ID, freePort, ghostOf, SERVER, until, waitForAnswer } from './support.ts';

const BIN = path.resolve('bin/mosaic.js');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' };

let child: ChildProcess | null = null;
let hs: TestHomeserver | null = null;
const sims: AnySimulator[] = [];

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await hs?.stop();
  for (const s of sims) await s.close();
});

interface Ready {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: { status?: string; detail?: string } }>;
}

it('starts with the homeserver down, serves the REST API, reports matrix disconnected, then answers in Matrix once the homeserver is up', async () => {
  const simulators: Partial<Record<ProviderName, AnySimulator>> = {};
  for (const p of PROVIDER_NAMES) sims.push((simulators[p] = await startSimulator(p)));
  const [httpPort, asPort, hsPort] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-hsdown-'));
  const databaseUrl = await createEmptyPgDatabase();
  const matrix = { enabled: true, homeserverUrl: `http://127.0.0.1:${hsPort}`, serverName: SERVER, host: '127.0.0.1', port: asPort, registrationFile: path.join(dir, 'registration.yaml'), autoProvisionDomains: [SERVER], editIntervalMs: 40, reconnectMaxMs: 400 };
  const registration = generateRegistration(parseConfig({ matrix }));
  writeFileSync(matrix.registrationFile, renderRegistration(registration), { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'config.yaml'),
    stringify({ http: { host: '127.0.0.1', port: httpPort }, metrics: { port: 0 }, database: { url: databaseUrl }, valkey: { keyPrefix: redisPrefix('hsdown') }, log: { level: 'info' }, providers: simulatorProviderConfig(simulators), matrix }),
  );

  child = spawn('node', [BIN, 'start'], { cwd: dir, env: { ...env, MOSAIC_CONFIG: path.join(dir, 'config.yaml') } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const base = `http://127.0.0.1:${httpPort}`;
  await until('Mosaic to listen', () => out.includes('Mosaic listening on') || child!.exitCode !== null, 60_000);
  expect(child.exitCode, out).toBeNull();
  expect(out).toContain('homeserver.unreachable');

  // The REST API works without the homeserver.
  const created = spawnSync('node', [BIN, 'user', 'create', 'ops', '--admin'], { cwd: dir, env: { ...env, MOSAIC_CONFIG: path.join(dir, 'config.yaml'), LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000 });
  expect(created.status, created.stderr).toBe(0);
  const token = created.stdout.trim().split('\n').pop()!;
  const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(me.status).toBe(200);
  const agents = await fetch(`${base}/api/agents`, { headers: { authorization: `Bearer ${token}` } });
  expect(agents.status).toBe(200);
  const down = (await (await fetch(`${base}/readyz`)).json()) as Ready;
  expect(down.ready).toBe(true);
  expect(down.checks.matrix).toMatchObject({ ok: false, detail: { status: 'disconnected' } });
  expect(down.checks.matrix!.detail!.detail).toContain('not reachable');

  // The homeserver comes up, at the URL Mosaic was given.
  hs = await TestHomeserver.start({ serverName: SERVER, registration, port: hsPort, push: { retryInitialMs: 20, retryMaxMs: 200 } });
  await until('Mosaic to reach the homeserver', () => out.includes('homeserver.reached'), 30_000);
  await until('/readyz to report matrix connected', async () => ((await (await fetch(`${base}/readyz`)).json()) as Ready).checks.matrix?.ok === true, 30_000);

  const alice = await hs.createHuman('alice', { displayname: 'Alice' });
  const agent = ghostOf(ASSISTANT_ID);
  const { room_id: room } = await alice.client.createRoom({ invite: [agent] } as never);
  await alice.waitForEvent(room, (e) => e.type === 'm.room.member' && e.sender === agent && e.content.membership === 'join', { timeoutMs: 20_000 });
  const { event_id: q } = await alice.client.sendTextMessage(room, 'Name a planet with rings.');
  await waitForAnswer(alice, room, agent, q);
  expect(child.exitCode).toBeNull();
  hs.assertNoSpecViolations();
}, 120_000);
