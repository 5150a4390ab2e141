/**
 * Refreshes the screenshots in docs/images/ that docs/web.md shows: a real
 * gateway (embedded PGlite in a temporary folder, the local Valkey under a
 * throw-away prefix, the provider simulators as providers) serving the web
 * client's fresh build, driven in Debian's Chromium.
 *
 *   node bin/run-ts.js scripts/web-screenshots.ts
 *
 * Needs Valkey/Redis on 127.0.0.1:6379 and /usr/bin/chromium.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';

process.env.MOSAIC_TEST_RUN ??= `shots${Date.now().toString(36)}`;
const { buildWebClient } = await import('../clients/web/build.mjs');
const { startTestMosaic } = await import('../test/support/mosaic-harness.ts');
const { launchChromium, signInThroughForm } = await import('../test/web/browser-support.ts');

const out = path.resolve('docs/images');
mkdirSync(out, { recursive: true });
const PASSWORD = 'screenshots only';

const ANSWER = [
  'Here is a function that reads a CSV file into objects, keyed by its header row:',
  '',
  '```ts',
  "import { readFileSync } from 'node:fs';",
  '',
  'export function readCsv(file: string): Record<string, string>[] {',
  "  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\\n');",
  "  const keys = header!.split(',');",
  "  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [keys[i], v])));",
  '}',
  '```',
  '',
  'It does **not** handle quoted commas; for those, use a CSV parser.',
].join('\n');

await buildWebClient({ quiet: true });
const m = await startTestMosaic({ webClient: true, database: 'pglite', providers: ['ollama', 'openai', 'anthropic'] });
const browser = await launchChromium();
try {
  for (const sim of Object.values(m.simulators)) sim.setDefault({ text: ANSWER });
  await m.core.accounts.createUser({ username: 'ada', admin: true, password: PASSWORD, displayName: 'Ada' });
  const ada = (await m.core.accounts.users.findByUsername('ada'))!;
  const { token } = await m.core.accounts.tokens.issue({ userId: ada.id, role: 'admin', username: 'ada' }, 'screenshots');
  await m.core.accounts.createUser({ username: 'mia', password: PASSWORD });
  for (const title of ['Release notes draft', 'Trip to Lisbon']) await m.api(token, 'POST', '/api/conversations', { title });
  const conv = (await m.api<{ id: string }>(token, 'POST', '/api/conversations', { title: 'CSV parsing in TypeScript' })).body.id;
  await m.api(token, 'POST', `/api/conversations/${conv}/messages?wait=true`, { content: 'Write a TypeScript function that reads a CSV file.' });
  await m.api(token, 'POST', `/api/conversations/${conv}/messages`, { content: '/why' });

  const shoot = async (page: Page, name: string) => {
    await page.screenshot({ path: path.join(out, name) });
    console.log(`docs/images/${name}`);
  };

  const signIn = await (await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 760 } })).newPage();
  await signIn.goto(m.url);
  await signIn.getByLabel('Username').waitFor();
  await shoot(signIn, 'web-sign-in.png');

  const context = await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await signInThroughForm(page, m.url, 'ada', PASSWORD);
  await page.locator(`a[href="/c/${conv}"]`).click();
  await page.locator('pre code.hljs').first().waitFor();
  await page.locator('.connection[data-status="open"]').waitFor();
  await page.locator('li.message.assistant details summary').first().click();
  await shoot(page, 'web-chat.png');

  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('API key').fill('sk-example-not-a-real-key-4242');
  await page.getByRole('button', { name: 'Store key' }).click();
  await page.locator('tr', { hasText: 'openai' }).waitFor();
  await shoot(page, 'web-settings.png');

  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByLabel('Username', { exact: true }).fill('noor');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('one-time-token').waitFor();
  await shoot(page, 'web-admin-users.png');

  await page.getByRole('link', { name: 'Routing rules' }).click();
  await page.getByLabel('Message', { exact: true }).fill('Write a Python function that parses a CSV file');
  await page.getByRole('button', { name: 'Explain' }).click();
  await page.getByTestId('decision').waitFor();
  await shoot(page, 'web-admin-rules.png');

  await page.getByRole('link', { name: 'Jobs' }).click();
  await page.locator('tr[data-queue="mosaic:replies"]').waitFor();
  await page.getByLabel('State', { exact: true }).selectOption('completed');
  await page.locator('ul.jobs li').first().waitFor();
  await shoot(page, 'web-admin-jobs.png');

  await page.getByRole('link', { name: 'Providers' }).click();
  await page.locator('tr[data-provider="ollama"]').waitFor();
  await shoot(page, 'web-admin-providers.png');

  const phone = await (await browser.newContext({ colorScheme: 'light', viewport: { width: 390, height: 844 } })).newPage();
  await signInThroughForm(phone, m.url, 'ada', PASSWORD);
  await phone.goto(`${m.url}/c/${conv}`);
  await phone.locator('pre code.hljs').first().waitFor();
  await shoot(phone, 'web-chat-phone.png');
} finally {
  await browser.close();
  await m.stop();
  const redis = new Redis(m.config.valkey.url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${m.config.valkey.keyPrefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}
