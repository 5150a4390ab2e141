/**
 * The web client in Debian's Chromium against the real gateway (real
 * PostgreSQL and Valkey, the provider simulators): signing in, a streamed
 * answer with its routing receipt, messages from other surfaces arriving
 * live, the model picker, reconnecting after a restart, settings, the
 * admin pages (users, rules, jobs — retrying a failed job —, providers), a
 * member kept out of them, signing out, keyboard-only use, a phone-sized
 * screen, and axe-core on every main page. Every wait is for a condition.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../appservice/support.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { waitFor } from '../live/support.ts';
import { expectNoSeriousViolations, launchChromium, newPage, signInThroughForm, withScreenshots, type PageGlobals } from './browser-support.ts';

let m: TestMosaic;
let browser: Browser;
let base: string;
const open: Page[] = [];
const PASSWORD = 'a long enough password';
let miaToken: string;

beforeAll(async () => {
  // A fixed port: the restart test brings the gateway back where the page left it.
  const port = await freePort();
  m = await startTestMosaic({
    webClient: true,
    providers: ['ollama', 'openai'],
    config: { http: { port }, live: { authRecheckMs: 300 }, conversations: { deltaIntervalMs: 20 } },
  });
  base = m.url;
  await m.core.accounts.createUser({ username: 'ada', admin: true, password: PASSWORD });
  miaToken = (await m.core.accounts.createUser({ username: 'mia', password: PASSWORD })).token;
  // Answers stream slowly enough to be seen streaming (the simulators' own pace, not a wait in the test).
  for (const sim of Object.values(m.simulators)) sim.setDefault((req) => ({ text: `Answer from the simulator to: ${JSON.stringify(req.body).includes('Prove it') ? 'Prove it' : 'you'}.\n\n\`\`\`js\nconst x = 1;\n\`\`\`\n`, chunkSize: 6, frameDelayMs: 25 }));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await m?.stop();
});

const shots = () => open;
const test = (name: string, body: () => Promise<void>, timeout = 90_000) => it(name, () => withScreenshots(name, shots, body), timeout);

async function signedIn(username: string, viewport?: { width: number; height: number }) {
  const p = await newPage(browser, viewport ? { viewport } : {});
  open.push(p.page);
  await signInThroughForm(p.page, base, username, PASSWORD);
  return p;
}

/** The newest finished answer's receipt (model and provider as shown). */
async function lastReceipt(page: Page): Promise<{ model: string; provider: string }> {
  const receipt = page.locator('li.message.assistant .receipt').last();
  return { model: (await receipt.locator('[data-receipt="model"]').innerText()).trim(), provider: (await receipt.locator('[data-receipt="provider"]').innerText()).trim() };
}

describe('the web client in Chromium', () => {
  let mia: Awaited<ReturnType<typeof signedIn>>;
  let conversationId: string;

  test('signs in with a password: an HttpOnly, SameSite=Strict session cookie; the sign-in and chat pages pass axe', async () => {
    const p = await newPage(browser);
    open.push(p.page);
    const first = await p.page.goto(base);
    expect(first!.headers()['content-security-policy']).toContain("script-src 'self'");
    await p.page.getByLabel('Username').waitFor();
    await expectNoSeriousViolations(p.page, 'the sign-in page');
    await p.page.getByLabel('Username').fill('mia');
    await p.page.getByLabel('Password').fill('wrong password');
    await p.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
    await p.page.getByLabel('Password').fill(PASSWORD);
    await p.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.page.getByRole('navigation', { name: 'Main' }).waitFor();
    const cookies = await p.context.cookies();
    const session = cookies.find((c) => c.name === 'mosaic_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    // The page's script cannot read it.
    expect(await p.page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie)).not.toContain('mosaic_session');
    await p.page.locator('.connection[data-status="open"]').waitFor();
    await expectNoSeriousViolations(p.page, 'the chat page');
    expect(p.problems).toEqual([]);
    mia = p;
  });

  test('sends a message with the keyboard only; the answer streams in, rendered as markdown with highlighted code and a copy button, then shows its routing receipt', async () => {
    const page = mia.page;
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
    conversationId = page.url().split('/c/')[1]!;
    // Keyboard only: Tab until the message box has focus, type, Enter.
    for (let i = 0; i < 40 && !(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id === 'composer')); i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id)).toBe('composer');
    await page.keyboard.type('Prove it');
    await page.keyboard.press('Enter');
    await page.locator('li.message.user', { hasText: 'Prove it' }).waitFor();
    // Streaming: the answer shows while it is being written, then becomes a stored message.
    await page.locator('.message.streaming').waitFor();
    await page.getByRole('button', { name: 'Stop answer' }).waitFor();
    const answer = page.locator('li.message.assistant').last();
    await answer.locator('.receipt').waitFor();
    await expect.poll(() => answer.locator('.md').innerText()).toContain('Answer from the simulator to: Prove it');
    await answer.locator('pre code.hljs').waitFor();
    await answer.getByRole('button', { name: 'Copy code' }).waitFor();
    expect(await page.locator('.message.streaming').count()).toBe(0);
    const r = answer.locator('.receipt');
    for (const part of ['model', 'provider', 'rule', 'tokens', 'cost']) expect((await r.locator(`[data-receipt="${part}"]`).innerText()).trim(), part).not.toBe('');
    const stored = await m.api<{ items: Array<{ role: string; provider: string; model: string; usage: { inputTokens: number } }> }>(miaToken, 'GET', `/api/conversations/${conversationId}/messages`);
    const reply = stored.body.items.find((x) => x.role === 'assistant')!;
    expect(await lastReceipt(page)).toEqual({ model: reply.model, provider: reply.provider });
    expect(await r.locator('[data-receipt="tokens"]').innerText()).toContain(`${reply.usage.inputTokens} in`);
  });

  test('a message posted from another surface (REST) appears live, with its answer', async () => {
    const page = mia.page;
    const posted = await m.api<{ messageId: string }>(miaToken, 'POST', `/api/conversations/${conversationId}/messages`, { content: 'Hello from a script' });
    expect(posted.status).toBe(202);
    const item = page.locator(`li.message.user[data-id="${posted.body.messageId}"]`);
    await item.waitFor();
    expect(await item.innerText()).toContain('via API');
    await expect.poll(() => page.locator('li.message.assistant').count(), { timeout: 20_000 }).toBe(2);
  });

  test('the model picker sends /model and the next answer comes from the picked model', async () => {
    const page = mia.page;
    const before = await lastReceipt(page);
    const picker = page.getByLabel('Model');
    const options = await picker.locator('option').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    const target = options.find((v) => v !== 'auto' && !v.startsWith(`${before.provider}/`))!;
    expect(target, `a model of another provider than ${before.provider} among ${options.join(', ')}`).toBeTruthy();
    await picker.selectOption(target);
    await page.locator('li.message.system', { hasText: 'Model pinned' }).waitFor();
    await expect.poll(() => picker.inputValue()).toBe(target);
    await page.getByRole('textbox', { name: 'Message' }).fill('And now?');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => page.locator('li.message.assistant').count(), { timeout: 20_000 }).toBe(3);
    await expect.poll(async () => (await page.locator('li.message.assistant').last().locator('.receipt').count()) > 0).toBe(true);
    const after = await lastReceipt(page);
    expect(`${after.provider}/${after.model}`).toBe(target);
  });

  test('reconnects by itself after the server restarts and shows what was posted meanwhile, once', async () => {
    const page = mia.page;
    await m.restart();
    const posted = await m.api<{ messageId: string }>(miaToken, 'POST', `/api/conversations/${conversationId}/messages`, { content: 'Posted across the restart' });
    await page.locator(`li.message[data-id="${posted.body.messageId}"]`).waitFor({ timeout: 30_000 });
    await page.locator('.connection[data-status="open"]').waitFor();
    await expect.poll(() => page.locator('li.message.assistant').count(), { timeout: 20_000 }).toBe(4);
    const ids = await page.locator('li.message').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('the stop button ends an answer being written; what was written is kept', async () => {
    const page = mia.page;
    const stoppedBefore = await page.locator('li.message.assistant', { hasText: /stopped/i }).count();
    // This answer streams slowly (the simulator's pace), so there is time to press Stop.
    for (const sim of Object.values(m.simulators)) sim.script({ text: 'one two three four five six seven eight nine ten '.repeat(20), chunkSize: 4, frameDelayMs: 100 });
    await page.getByRole('textbox', { name: 'Message' }).fill('Take your time');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('.message.streaming .md', { hasText: 'one two' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Stop answer' }).click();
    await expect.poll(() => page.locator('li.message.assistant', { hasText: /stopped/i }).count(), { timeout: 20_000 }).toBe(stoppedBefore + 1);
    expect(await page.locator('.message.streaming').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Stop answer' }).count()).toBe(0);
    for (const sim of Object.values(m.simulators)) sim.reset().setDefault({ text: 'Answer from the simulator to: you.', chunkSize: 6, frameDelayMs: 25 });
  });

  test('archives and finds conversations: search and the archive switch', async () => {
    const page = mia.page;
    await page.getByLabel('Search messages').fill('restart');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('region', { name: 'Search results' }).getByRole('link').first().waitFor();
    await page.getByRole('button', { name: 'Clear search' }).click();
    const title = await page.locator('.conversations li.open a').innerText();
    await page.getByRole('button', { name: `Archive ${title}` }).click();
    await expect.poll(() => page.locator('.conversations li.open').count()).toBe(0);
    await page.getByLabel('Show archived').check();
    await page.getByRole('button', { name: `Unarchive ${title}` }).waitFor();
  });

  test('settings: a provider key is stored masked, rotated and removed; the budget is saved; axe passes', async () => {
    const page = mia.page;
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Your provider keys' }).waitFor();
    await page.getByLabel('Provider', { exact: true }).selectOption('anthropic');
    await page.getByLabel('API key').fill('sk-ant-mia-secret-123456');
    await page.getByRole('button', { name: 'Store key' }).click();
    const row = page.locator('tr', { hasText: 'anthropic' });
    await row.waitFor();
    expect(await page.content()).not.toContain('sk-ant-mia-secret-123456');
    await row.getByRole('button', { name: /^Rotate/ }).click();
    await page.getByLabel('New key for anthropic').fill('sk-ant-mia-rotated-654321');
    await page.getByRole('button', { name: 'Replace' }).click();
    await page.getByRole('status').filter({ hasText: 'replaced' }).waitFor();
    await page.getByLabel(/Monthly budget/).fill('12.5');
    await page.getByRole('button', { name: 'Save budget' }).click();
    await page.getByTestId('budget').filter({ hasText: '$12.50' }).waitFor();
    await expectNoSeriousViolations(page, 'the settings page');
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: /^Remove/ }).click();
    await page.getByText('No keys of your own.').waitFor();
    expect((await m.api<{ credentials: unknown[] }>(miaToken, 'GET', '/api/providers/credentials')).body.credentials).toEqual([]);
  });

  test('a member cannot open the admin pages, and the API refuses them', async () => {
    const page = mia.page;
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count()).toBe(0);
    await page.goto(`${base}/admin/users`);
    await page.getByRole('heading', { name: 'Admins only' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/admin/users')).status);
    expect(status).toBe(403);
  });

  test('signing out ends the session: the page shows sign-in and the old cookie opens nothing', async () => {
    const page = mia.page;
    const cookie = (await mia.context.cookies()).find((c) => c.name === 'mosaic_session')!;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Mosaic' }).waitFor();
    const res = await fetch(`${base}/api/me`, { headers: { cookie: `mosaic_session=${cookie.value}` } });
    expect(res.status).toBe(401);
    expect((await mia.context.cookies()).find((c) => c.name === 'mosaic_session')).toBeUndefined();
    expect(mia.problems).toEqual([]);
  });
});

describe('the admin pages in Chromium', () => {
  let ada: Awaited<ReturnType<typeof signedIn>>;

  test('users: an account is created with its token shown once, then disabled; axe passes', async () => {
    ada = await signedIn('ada');
    const page = ada.page;
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await expectNoSeriousViolations(page, 'the users page');
    await page.getByLabel('Username', { exact: true }).fill('noor');
    await page.getByRole('button', { name: 'Create account' }).click();
    const token = await page.getByTestId('one-time-token').innerText();
    expect(token).toMatch(/^mos_/);
    expect((await m.api<{ username: string }>(token, 'GET', '/api/me')).body.username).toBe('noor');
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    expect(await page.getByTestId('one-time-token').count()).toBe(0);
    await page.getByRole('button', { name: 'Disable noor' }).click();
    await page.getByRole('button', { name: 'Enable noor' }).waitFor();
    expect((await m.api(token, 'GET', '/api/me')).status).toBe(401);
  });

  test('routing rules: listed in order, explained, reordered and edited; axe passes', async () => {
    const page = ada.page;
    await page.getByRole('link', { name: 'Routing rules' }).click();
    await page.getByRole('heading', { name: 'System rules' }).waitFor();
    await expectNoSeriousViolations(page, 'the rules page');
    await page.getByLabel('Message', { exact: true }).fill('Write a Python function that parses a CSV file');
    await page.getByRole('button', { name: 'Explain' }).click();
    const decision = page.getByTestId('decision');
    await decision.waitFor();
    expect(await decision.innerText()).toMatch(/Outcome[\s\S]*Rule[\s\S]*Reason/);
    const names = () => page.locator('section[aria-labelledby="rules-system"] li[data-rule]').evaluateAll((els) => els.map((e) => e.getAttribute('data-rule')));
    const before = await names();
    expect(before.length).toBeGreaterThan(1);
    await page.getByRole('button', { name: `Move ${before[1]} up` }).click();
    await expect.poll(names).toEqual([before[1], before[0], ...before.slice(2)]);
    await page.getByRole('button', { name: `Edit ${before[0]}` }).click();
    await page.getByLabel('Name', { exact: true }).fill(`${before[0]} (edited)`);
    await page.getByRole('button', { name: 'Save rule' }).click();
    await expect.poll(names).toContain(`${before[0]} (edited)`);
  });

  test('jobs: a reply job that failed (its user was disabled) is retried after the cause is fixed, from its detail page; axe passes', async () => {
    const page = ada.page;
    const adminToken = m.adminToken;
    // A member's message waits in a paused reply queue while an admin disables them: the job fails permanently.
    const bob = await m.createUser('bob');
    const conv = (await m.api<{ id: string }>(bob.token, 'POST', '/api/conversations', {})).body.id;
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('button', { name: 'Pause mosaic:replies' }).click();
    await page.getByRole('button', { name: 'Resume mosaic:replies' }).waitFor();
    expect((await m.api(bob.token, 'POST', `/api/conversations/${conv}/messages`, { content: 'answer me later' })).status).toBe(202);
    expect((await m.api(adminToken, 'POST', '/api/admin/users/bob/disable')).status).toBe(200);
    await page.getByRole('button', { name: 'Resume mosaic:replies' }).click();
    await page.getByRole('button', { name: 'Pause mosaic:replies' }).waitFor();
    const failed = await waitFor('the failed reply job', async () => {
      const res = await m.api<{ jobs: Array<{ id: string; queue: string }> }>(adminToken, 'GET', '/api/admin/jobs?status=failed&queue=mosaic:replies');
      return res.body.jobs[0] ?? null;
    });
    expect((await m.api(adminToken, 'POST', '/api/admin/users/bob/enable')).status).toBe(200);
    await page.getByLabel('State', { exact: true }).selectOption('failed');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expectNoSeriousViolations(page, 'the jobs page');
    await page.locator(`a[href="/admin/jobs/${failed.id}"]`).click();
    await page.getByTestId('job-state').filter({ hasText: 'failed' }).waitFor();
    await expectNoSeriousViolations(page, 'a job page');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('status').filter({ hasText: 'Retried' }).waitFor();
    await waitFor('the answer to the retried job', async () => {
      const res = await m.api<{ items: Array<{ role: string }> }>(bob.token, 'GET', `/api/conversations/${conv}/messages`);
      return res.body.items.some((x) => x.role === 'assistant');
    });
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return page.getByTestId('job-state').innerText();
      }, { timeout: 20_000 })
      .toBe('completed');
  });

  test('providers: health of each provider; axe passes', async () => {
    const page = ada.page;
    await page.getByRole('link', { name: 'Providers' }).click();
    await page.locator('tr[data-provider="ollama"]').waitFor();
    await expectNoSeriousViolations(page, 'the providers page');
    expect(ada.problems).toEqual([]);
  });

  test('an account without a password signs in with a personal access token', async () => {
    const { token } = await m.createUser('tina');
    const p = await newPage(browser);
    open.push(p.page);
    await p.page.goto(base);
    await p.page.getByRole('button', { name: 'Sign in with a token instead' }).click();
    await p.page.getByLabel('Personal access token').fill(token);
    await p.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await p.page.locator('.account .user').innerText()).toBe('tina');
    await p.context.close();
  });

  test('at phone width the chat is usable: the list, a conversation, sending', async () => {
    const phone = await signedIn('ada', { width: 390, height: 844 });
    const page = phone.page;
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.waitForURL(/\/c\//);
    await page.getByRole('textbox', { name: 'Message' }).fill('Hi from a phone');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('li.message.assistant .receipt').waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => { const g = globalThis as unknown as PageGlobals; return g.document.documentElement.scrollWidth <= g.innerWidth; })).toBe(true);
    await expectNoSeriousViolations(page, 'the chat page at phone width');
    await page.getByRole('link', { name: '← Conversations' }).click();
    await page.getByRole('button', { name: 'New conversation' }).waitFor();
  });
});
