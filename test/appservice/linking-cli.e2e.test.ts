/**
 * Linking from a terminal beside a running server, as an operator does it —
 * real processes: `mosaic start` on the embedded database with the Matrix
 * channel (the test homeserver), and `mosaic user create --matrix`,
 * `mosaic user unlink`, `mosaic link` in another terminal. The server owns
 * the database, so the commands run in it through its admin socket, and its
 * bot welcomes the person and redeems the printed line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { generateRegistration, renderRegistration } from '../../appservice/transport/registration.ts';
import { TestHomeserver, type SyncedEvent } from '../homeserver/index.ts';
import { redisPrefix } from '../support/databases.ts';
import { baseEnv, BIN, freePort, startServer, type ServerProcess } from '../support/processes.ts';
import { BOT, SERVER, until } from './support.ts';

let hs: TestHomeserver;
let server: ServerProcess;
let cwd: string;

beforeAll(async () => {
  cwd = mkdtempSync(path.join(tmpdir(), 'mosaic-link-cli-'));
  const appservicePort = await freePort();
  const registration = generateRegistration(parseConfig({ matrix: { serverName: SERVER, host: '127.0.0.1', port: appservicePort } }));
  const registrationFile = path.join(cwd, 'registration.yaml');
  writeFileSync(registrationFile, renderRegistration(registration), { mode: 0o600 });
  hs = await TestHomeserver.start({ serverName: SERVER, registration, push: { retryInitialMs: 20, retryMaxMs: 200 } });
  server = await startServer({
    cwd,
    env: {
      PORT: String(await freePort()),
      VALKEY_PREFIX: redisPrefix('linkcli').replace(/:/g, '-'),
      MATRIX_ENABLED: 'true',
      MATRIX_HOMESERVER_URL: hs.url,
      MATRIX_SERVER_NAME: SERVER,
      MATRIX_REGISTRATION_FILE: registrationFile,
      APPSERVICE_HOST: '127.0.0.1',
      APPSERVICE_PORT: String(appservicePort),
      METRICS_PORT: '0',
    },
  });
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await hs?.stop();
});

/** A second terminal: the command runs while this process keeps serving the homeserver. */
function mosaic(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], { cwd, env: baseEnv({ LOG_LEVEL: 'warn' }), timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** An invite to a room that is not a Space (linking also invites the person to their personal Space, docs/teams.md). */
const notASpace = (roomId: string) => hs.admin.stateContent(roomId, 'm.room.create')?.type !== 'm.space';
const fromBot = (text: string) => (e: SyncedEvent) => e.sender === BOT && String(e.content.body).includes(text);

describe('linking from a terminal while the server runs on the embedded database', () => {
  it('user create --matrix welcomes the person; user unlink refuses them; the line `mosaic link` prints links them again', async () => {
    const rita = await hs.createHuman('rita');
    const created = await mosaic('user', 'create', 'rita', '--matrix', rita.userId);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`linked to ${rita.userId}`);
    const dm = await rita.waitForInvite(notASpace, 30_000);
    await rita.client.joinRoom(dm);
    await until('the welcome', async () => (await rita.history(dm)).find(fromBot('Welcome to Mosaic')), 30_000);

    const unlinked = await mosaic('user', 'unlink', 'rita', rita.userId);
    expect(unlinked.code, unlinked.stderr).toBe(0);
    const asked = await rita.client.sendTextMessage(dm, '!agents');
    await rita.waitForEvent(dm, fromBot(`${rita.userId} is not linked`), { after: asked.event_id, timeoutMs: 20_000 });

    const printed = await mosaic('link', 'rita');
    expect(printed.code, printed.stderr).toBe(0);
    const line = printed.stdout.trim().split('\n').at(-1)!;
    expect(line).toMatch(/^!link [0-9a-f]{64}$/);
    const sent = await rita.client.sendTextMessage(dm, line);
    await rita.waitForEvent(dm, fromBot('now linked to the Mosaic account **rita**'), { after: sent.event_id, timeoutMs: 20_000 });

    // A Matrix id that is not one is refused by the server's channel, with the reason.
    const wrong = await mosaic('user', 'link', 'rita', 'rita@example.org');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('must start with @');
    expect(server.output()).not.toContain(line.slice(6));
  }, 240_000);
});
