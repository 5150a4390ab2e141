/**
 * `mosaic login`, `logout` and `chat` as real processes against the real
 * gateway (PostgreSQL, Valkey, the provider simulators): the token file and
 * its mode, a streamed answer with its routing line, continuing a
 * conversation (the model request carries the history), standard input, and
 * an exit code for each way it can end.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { freePort } from '../support/processes.ts';
import { clientHome, runClient, type ClientHome } from './support.ts';

let m: TestMosaic;
const PASSWORD = 'a long enough password';
let home: ClientHome;
let conversationId = '';

type ChatBody = { messages?: Array<{ role: string; content: unknown }> };
const allSimRequests = () => Object.values(m.simulators).flatMap((s) => s.chatRequests());
const asText = (body: unknown) => JSON.stringify(body);

beforeAll(async () => {
  m = await startTestMosaic({ providers: ['ollama', 'openai'], config: { conversations: { deltaIntervalMs: 20 } } });
  await m.core.accounts.createUser({ username: 'mia', password: PASSWORD });
  for (const sim of Object.values(m.simulators)) sim.setDefault({ text: 'The answer, streamed in pieces.', chunkSize: 5, frameDelayMs: 5 });
  home = clientHome();
}, 120_000);

afterAll(async () => {
  await m?.stop();
});

describe('mosaic login / chat / logout', () => {
  it('chat before signing in: exit 3 and how to sign in', async () => {
    const r = await runClient(['chat', 'hello'], { env: home.env });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toContain('mosaic login --server');
  }, 60_000);

  it('a wrong password: exit 3, nothing stored', async () => {
    const r = await runClient(['login', '--server', m.url, '--username', 'mia', '--password-stdin'], { env: home.env, input: 'wrong password\n' });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^mosaic: .*(wrong|invalid)/im);
    expect(existsSync(path.join(home.env.XDG_CONFIG_HOME!, 'mosaic', 'credentials.json'))).toBe(false);
  }, 60_000);

  it('login with a password stores the server and a new token in a file only its owner can read', async () => {
    const r = await runClient(['login', '--server', m.url, '--username', 'mia', '--password-stdin'], { env: home.env, input: `${PASSWORD}\n` });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`signed in to ${m.url} as mia`);
    const file = path.join(home.env.XDG_CONFIG_HOME!, 'mosaic', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { server: string; token: string; username: string; tokenId: string };
    expect(stored).toMatchObject({ server: m.url, username: 'mia' });
    expect((await m.api<{ username: string }>(stored.token, 'GET', '/api/me')).body.username).toBe('mia');
  }, 60_000);

  it('chat streams the answer to standard output and the routing line to standard error; exit 0', async () => {
    const r = await runClient(['chat', 'What', 'is', 'Mosaic?'], { env: home.env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('The answer, streamed in pieces.\n');
    conversationId = /^conversation ([0-9a-f-]{36})$/m.exec(r.stderr)![1]!;
    const token = JSON.parse(readFileSync(path.join(home.env.XDG_CONFIG_HOME!, 'mosaic', 'credentials.json'), 'utf8')).token as string;
    const { body } = await m.api<{ items: Array<{ role: string; provider: string; model: string; routing: { reason: string; rule: { name: string } | null } }> }>(token, 'GET', `/api/conversations/${conversationId}/messages`);
    const reply = body.items.find((x) => x.role === 'assistant')!;
    const routing = r.stderr.split('\n').find((l) => l.startsWith('— '))!;
    expect(routing).toContain(`model: ${reply.model}`);
    expect(routing).toContain(`provider: ${reply.provider}`);
    expect(routing).toContain(`why: ${reply.routing.reason}`);
    expect(routing).toMatch(/tokens: \d+ in \/ \d+ out · cost: /);
  }, 60_000);

  it('--continue sends the next message from standard input into the same conversation; the model request carries the history', async () => {
    const before = allSimRequests().length;
    const r = await runClient(['chat', '--continue'], { env: home.env, input: 'And a second question\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('conversation ');
    const request = allSimRequests().slice(before).find((q) => asText(q.body).includes('And a second question'));
    expect(request).toBeTruthy();
    const body = asText((request!.body as ChatBody).messages ?? request!.body);
    expect(body).toContain('What is Mosaic?');
    expect(body).toContain('The answer, streamed in pieces.');
  }, 60_000);

  it('a command answers at once; an unknown conversation is exit 1; nothing to send is exit 2', async () => {
    const help = await runClient(['chat', '--conversation', conversationId, '/help'], { env: home.env });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('!model');
    const unknown = await runClient(['chat', '--conversation', '00000000-0000-4000-8000-000000000000', 'hi'], { env: home.env });
    expect(unknown.status, unknown.stderr).toBe(1);
    expect(unknown.stderr).toContain('not found');
    const empty = await runClient(['chat'], { env: home.env, input: '' });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('nothing to send');
  }, 90_000);

  it('a failing provider: the notice on standard error, exit 5', async () => {
    for (const sim of Object.values(m.simulators)) sim.failAll('server');
    try {
      const r = await runClient(['chat', '--conversation', conversationId, 'this will fail'], { env: home.env });
      expect(r.status, r.stdout + r.stderr).toBe(5);
      expect(r.stderr).toContain('no answer:');
    } finally {
      for (const sim of Object.values(m.simulators)) sim.failAll(null);
    }
  }, 90_000);

  it('a server nobody runs: exit 4, naming the address', async () => {
    const r = await runClient(['chat', '--server', `http://127.0.0.1:${await freePort()}`, 'hi'], { env: { ...home.env, MOSAIC_TOKEN: 'mos_whatever' } });
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/cannot reach Mosaic at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  }, 60_000);

  it('a token file others can read is refused (exit 3)', async () => {
    const file = path.join(home.env.XDG_CONFIG_HOME!, 'mosaic', 'credentials.json');
    chmodSync(file, 0o644);
    try {
      const r = await runClient(['chat', 'hi'], { env: home.env });
      expect(r.status).toBe(3);
      expect(r.stderr).toContain('chmod 600');
    } finally {
      chmodSync(file, 0o600);
    }
  }, 60_000);

  it('logout revokes the token login made and removes the file; a token given with --token / MOSAIC_TOKEN works without a password', async () => {
    const file = path.join(home.env.XDG_CONFIG_HOME!, 'mosaic', 'credentials.json');
    const token = JSON.parse(readFileSync(file, 'utf8')).token as string;
    const out = await runClient(['logout'], { env: home.env });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain('its token is revoked');
    expect(existsSync(file)).toBe(false);
    expect((await m.api(token, 'GET', '/api/me')).status).toBe(401);
    const revoked = await runClient(['chat', '--server', m.url, 'hi'], { env: { ...home.env, MOSAIC_TOKEN: token } });
    expect(revoked.status, revoked.stderr).toBe(3);
    const other = clientHome();
    const { token: fresh } = await m.createUser('noor');
    const login = await runClient(['login', '--server', m.url, '--token', fresh], { env: other.env });
    expect(login.status, login.stderr).toBe(0);
    expect(login.stdout).toContain('as noor');
    const chat = await runClient(['chat', 'hello from noor'], { env: other.env });
    expect(chat.status, chat.stderr).toBe(0);
    const bye = await runClient(['logout'], { env: other.env });
    expect(bye.stdout).not.toContain('revoked');
    expect((await m.api(fresh, 'GET', '/api/me')).status).toBe(200);
  }, 120_000);
});
