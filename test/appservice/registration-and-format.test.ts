/**
 * `mosaic registration` and `mosaic conduit register` as an operator runs
 * them, the registration against the spec's schema, the formatted bodies
 * Mosaic emits, and the adapter's health and ping.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { registerWithConduit } from '../../appservice/transport/conduit-register.ts';
import { markdownContent, renderMarkdown } from '../../appservice/translation/formatting.ts';
import { parseRegistration } from '../../appservice/transport/registration.ts';
import { TestHomeserver } from '../homeserver/index.ts';
import { SPEC_DIR } from '../homeserver/spec-checker.ts';
import { startMatrixWorld } from './support.ts';

const BIN = path.resolve('bin/mosaic.js');
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn' };
const mosaic = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync('node', [BIN, ...args], { cwd: mkdtempSync(path.join(tmpdir(), 'mosaic-reg-')), env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });

function registrationValidator() {
  const ajv = new Ajv2020({ strict: false });
  const dir = path.join(SPEC_DIR, 'api/application-service/definitions');
  ajv.addSchema(parseYaml(readFileSync(path.join(dir, 'namespace_list.yaml'), 'utf8')), 'namespace_list.yaml');
  return ajv.compile(parseYaml(readFileSync(path.join(dir, 'registration.yaml'), 'utf8')));
}

describe('mosaic registration', () => {
  it('writes a registration that validates against the spec, with the namespaces and settings Mosaic needs', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mosaic-reg-out-'));
    const file = path.join(dir, 'sub', 'mosaic-registration.yaml');
    const res = mosaic(['registration', '-o', file], { MATRIX_SERVER_NAME: 'example.org', APPSERVICE_PORT: '9123' });
    expect(res.status, res.stderr).toBe(0);
    const yaml = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const validate = registrationValidator();
    expect(validate(yaml), JSON.stringify(validate.errors)).toBe(true);
    expect(yaml).toMatchObject({
      id: 'mosaic',
      url: 'http://127.0.0.1:9123',
      sender_localpart: 'mosaic-bot',
      rate_limited: false,
      namespaces: { users: [{ exclusive: true, regex: '@mosaic_.*:example\\.org' }], aliases: [{ exclusive: true, regex: '#mosaic-.*:example\\.org' }], rooms: [] },
    });
    expect(yaml.as_token).toMatch(/^[0-9a-f]{64}$/);
    expect(yaml.hs_token).toMatch(/^[0-9a-f]{64}$/);
    expect(yaml.as_token).not.toBe(yaml.hs_token);

    // --if-missing keeps the tokens the homeserver already knows.
    const again = mosaic(['registration', '--if-missing', '-o', file]);
    expect(again.status, again.stderr).toBe(0);
    expect((parseYaml(readFileSync(file, 'utf8')) as { as_token: string }).as_token).toBe(yaml.as_token);
    // Neither flag: refused, the tokens the homeserver knows stay.
    const refused = mosaic(['registration', '-o', file]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('--force');
    expect((parseYaml(readFileSync(file, 'utf8')) as { as_token: string }).as_token).toBe(yaml.as_token);
    // --force: a new file has new tokens.
    mosaic(['registration', '-o', file, '--force']);
    expect((parseYaml(readFileSync(file, 'utf8')) as { as_token: string }).as_token).not.toBe(yaml.as_token);
  });

  it('a broken registration file is a one-line error naming the problem', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mosaic-reg-bad-')), 'r.yaml');
    writeFileSync(file, 'id: mosaic\nurl: http://x\n');
    const res = mosaic(['registration', '--if-missing', '-o', file]);
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toContain('as_token');
    expect(() => parseRegistration('[not: yaml', 'x.yaml')).toThrow(/x\.yaml is not valid YAML/);
  });
});

describe('mosaic conduit register', () => {
  let hs: TestHomeserver | null = null;
  afterAll(async () => hs?.stop());

  it("logs in as the Conduit admin and posts register-appservice with the YAML in the admin room", async () => {
    hs = await TestHomeserver.start({ serverName: 'conduit.local' });
    const admin = hs.admin.createUser('admin', { password: 'admin-password', admin: true });
    const adminHuman = await hs.createHuman('watcher');
    const { room_id } = await fetch(`${hs.url}/_matrix/client/v3/createRoom`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room_alias_name: 'admins', invite: [adminHuman.userId] }),
    }).then((r) => r.json() as Promise<{ room_id: string }>);
    const yaml = '# comment\nid: mosaic\nurl: http://mosaic:9000\nas_token: aaaaaaaaaaaaaaaaaaaa\nhs_token: bbbbbbbbbbbbbbbbbbbb\nsender_localpart: mosaic-bot\nnamespaces:\n  users: []\n';
    const result = await registerWithConduit({ homeserverUrl: hs.url, serverName: 'conduit.local', adminUser: 'admin', adminPassword: 'admin-password', registrationYaml: yaml, waitMs: 200 });
    expect(result.roomId).toBe(room_id);
    const posted = hs.admin.messages(room_id).find((e) => e.event_id === result.eventId)!;
    const body = String((posted.content as { body: string }).body);
    expect(body.split('\n')[0]).toBe('@conduit:conduit.local: register-appservice');
    expect(body).toContain('```\nid: mosaic\n');
    expect(body).not.toContain('# comment');
    expect(body.endsWith('```')).toBe(true);
    await expect(registerWithConduit({ homeserverUrl: hs.url, serverName: 'conduit.local', adminUser: 'admin', adminPassword: 'wrong', registrationYaml: yaml })).rejects.toThrow(/403|M_FORBIDDEN/);
  });
});

describe('formatted bodies', () => {
  it('markdown becomes sanitised HTML with only the tags and schemes the spec allows', () => {
    const html = renderMarkdown('# Title\n\n**bold** [ok](https://example.org) [bad](javascript:alert(1)) ![img](https://evil/x.png)\n\n```ts\nconst a = 1 < 2;\n```\n\n<script>alert(1)</script>');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<a href="https://example.org">ok</a>');
    expect(html).not.toContain('href="javascript');
    expect(html).not.toContain('<img');
    expect(html).toContain('<code class="language-ts">const a = 1 &lt; 2;\n</code>');
    expect(html).not.toContain('<script');
    // Plain text stays plain: no formatted_body for nothing.
    expect(markdownContent('just words')).toEqual({ msgtype: 'm.text', body: 'just words' });
  });
});

describe('health', () => {
  it('reports connected when the homeserver answers and the appservice ping goes through; /readyz includes it', async () => {
    const w = await startMatrixWorld();
    try {
      const before = w.adapter().pingsReceived;
      expect(await w.adapter().health()).toEqual({ status: 'connected' });
      expect(w.adapter().pingsReceived).toBe(before + 1);
      const ready = (await (await fetch(`${w.mosaic.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean; detail: unknown }> };
      expect(ready.checks.matrix).toMatchObject({ ok: true, detail: { status: 'connected' } });
      await w.hs.stop();
      await new Promise((r) => setTimeout(r, 5100)); // the adapter caches health for 5 s
      const down = await w.adapter().health();
      expect(down.status).toBe('disconnected');
    } finally {
      await w.mosaic.stop();
    }
  }, 30_000);
});
