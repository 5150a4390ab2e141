/**
 * How the gateway serves the web client's build: index.html (with a strict
 * CSP, never cached) for every page of the client a browser opens, hashed
 * assets cached for good, and the server's own paths (/api, /healthz,
 * /readyz, /link, /metrics) and non-browser requests keeping their answers.
 * `web.enabled: false` serves nothing and accepts no session cookie.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let m: TestMosaic;
let off: TestMosaic;
const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

beforeAll(async () => {
  m = await startTestMosaic({ webClient: true, providers: ['ollama'] });
  off = await startTestMosaic({ webClient: true, providers: ['ollama'], config: { web: { enabled: false } } });
}, 60_000);
afterAll(async () => {
  await m?.stop();
  await off?.stop();
});

describe('serving the web client', () => {
  it('answers index.html with a strict CSP for the client pages a browser opens', async () => {
    for (const path of ['/', '/c/2f0c0000-0000-4000-8000-000000000000', '/settings', '/admin/jobs/abc', '/no/such/page']) {
      const res = await fetch(`${m.url}${path}`, { headers: html });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) expect(csp).toContain(d);
      expect(csp).not.toContain('unsafe-inline');
      const body = await res.text();
      expect(body).toContain('<div id="app"></div>');
      // No inline script: the one script is a file of ours.
      expect(body.match(/<script\b[^>]*>/g)).toEqual([expect.stringMatching(/^<script type="module" src="\/assets\/app-[\w-]+\.js">$/)]);
    }
  });

  it('serves hashed assets cached for good; an unknown asset is a 404 in the error shape', async () => {
    const page = await (await fetch(`${m.url}/`, { headers: html })).text();
    const script = /src="(\/assets\/[^"]+)"/.exec(page)![1]!;
    const res = await fetch(`${m.url}${script}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await fetch(`${m.url}/assets/nope-123.js`, { headers: html });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it("leaves the server's own paths and non-browser requests alone", async () => {
    const api = await fetch(`${m.url}/api/nope`, { headers: html });
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await fetch(`${m.url}/healthz`, { headers: html })).headers.get('content-type')).toMatch(/^application\/json/);
    expect((await fetch(`${m.url}/readyz`, { headers: html })).headers.get('content-type')).toMatch(/^application\/json/);
    const metrics = await fetch(`${m.url}/metrics`, { headers: html });
    expect(metrics.status).toBe(404);
    expect(metrics.headers.get('content-type')).toMatch(/^application\/json/);
    const link = await fetch(`${m.url}/link/matrix?state=x`, { headers: html });
    expect(await link.text()).not.toContain('<div id="app">');
    const script = await fetch(`${m.url}/settings`, { headers: { accept: 'application/json' } });
    expect(script.status).toBe(404);
    const post = await fetch(`${m.url}/settings`, { method: 'POST', headers: html });
    expect(post.status).toBe(404);
    expect(post.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('with web.enabled false: no page, and no session sign-in route', async () => {
    expect((await fetch(`${off.url}/`, { headers: html })).status).toBe(404);
    const signIn = await fetch(`${off.url}/api/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: off.url }, body: '{"username":"a","password":"b"}' });
    expect(signIn.status).toBe(404);
  });
});
