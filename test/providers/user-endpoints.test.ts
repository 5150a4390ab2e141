/**
 * User base URLs (SSRF): off unless allowed; when allowed, never an address
 * inside the server's networks unless that is allowed too; checked when
 * stored and again on every connection (a name that resolved to a public
 * address at store time and to loopback later is still refused).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkUserBaseUrl, isInternalAddress, userEndpointFetch, type Resolve } from '../../src/providers/user-endpoints.ts';
import { adapterFor, collectError, request } from './helpers.ts';
import { SIMULATOR_KEY, startSimulator, type AnySimulator } from '../simulators/index.ts';

const ON = { enabled: true, allowPrivateAddresses: false };
const PRIVATE_OK = { enabled: true, allowPrivateAddresses: true };

let server: Server;
let port: number;
let hits = 0;
beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('user base URLs', () => {
  it('knows the internal ranges, in every spelling', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '224.0.0.1']) {
      expect(isInternalAddress(a), a).toBe(true);
    }
    for (const a of ['1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:1.1.1.1']) expect(isInternalAddress(a), a).toBe(false);
  });

  it('are refused when stored unless the admin enabled them, and then when they resolve inside', async () => {
    await expect(checkUserBaseUrl('https://api.example.org/v1', { enabled: false, allowPrivateAddresses: false })).rejects.toThrow(/turned off/);
    const publicDns: Resolve = async () => [{ address: '93.184.216.34', family: 4 }];
    await expect(checkUserBaseUrl('https://api.example.org/v1', ON, publicDns)).resolves.toBeUndefined();
    await expect(checkUserBaseUrl('http://127.0.0.1:11434', ON)).rejects.toThrow(/inside the server's own network/);
    await expect(checkUserBaseUrl('http://[::ffff:7f00:1]/', ON)).rejects.toThrow(/inside/);
    await expect(checkUserBaseUrl('http://169.254.169.254/latest/meta-data', ON)).rejects.toThrow(/inside/);
    // One private answer among public ones is enough to refuse.
    const mixed: Resolve = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }];
    await expect(checkUserBaseUrl('https://rebind.example', ON, mixed)).rejects.toThrow(/10\.0\.0\.5/);
    await expect(checkUserBaseUrl('file:///etc/passwd', ON)).rejects.toThrow(/http/);
    await expect(checkUserBaseUrl('https://user:pw@api.example.org', ON, publicDns)).rejects.toThrow(/password/);
    await expect(checkUserBaseUrl('http://127.0.0.1:11434', PRIVATE_OK)).resolves.toBeUndefined();
  });

  it('are checked again on every connection: DNS that changes after storing is refused, and nothing is sent', async () => {
    let answer = '93.184.216.34';
    const rebinding: Resolve = async () => [{ address: answer, family: 4 }];
    await checkUserBaseUrl(`http://rebind.example:${port}/`, ON, rebinding);
    answer = '127.0.0.1';
    const before = hits;
    const guarded = userEndpointFetch(ON, rebinding);
    await expect(guarded(`http://rebind.example:${port}/`)).rejects.toThrow();
    await expect(guarded(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    expect(hits).toBe(before);
    // Allowed explicitly, the same address is reached, through the address that was checked.
    const res = await userEndpointFetch(PRIVATE_OK, rebinding)(`http://rebind.example:${port}/`);
    expect(await res.json()).toEqual({ ok: true });
    expect(hits).toBe(before + 1);
  });

  describe('through a provider adapter', () => {
    let sim: AnySimulator;
    beforeAll(async () => {
      sim = await startSimulator('openai');
    });
    afterAll(() => sim.close());

    it("a user's key with a loopback base URL never reaches it; the system key's own URL is unaffected", async () => {
      const denied = adapterFor('openai', sim, {}, { maxRetries: 0, userBaseUrls: ON });
      const before = sim.requests.length;
      const { error } = await collectError(denied.chat(request('openai', { credential: { source: 'user', apiKey: 'sk-own', baseUrl: sim.configBaseUrl, userId: 'u1' } })));
      expect(error).toMatchObject({ kind: 'auth', message: expect.stringMatching(/inside the server's own network/) });
      expect(sim.requests.length).toBe(before);
      const allowed = adapterFor('openai', sim, {}, { maxRetries: 0, userBaseUrls: PRIVATE_OK });
      const { error: none } = await collectError(allowed.chat(request('openai', { credential: { source: 'user', apiKey: SIMULATOR_KEY, baseUrl: sim.configBaseUrl, userId: 'u1' } })));
      expect(sim.requests.length).toBeGreaterThan(before);
      expect(none).toBeUndefined();
    });
  });
});
