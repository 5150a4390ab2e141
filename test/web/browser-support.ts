/**
 * The browser side of the web client's tests: Debian's Chromium driven by
 * playwright-core (no browser download), a screenshot of the page on any
 * failure (its path in the failure message), axe-core run inside the page,
 * and signing in the way a person does.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** The page's globals as code inside page.evaluate sees them (this program has no DOM types). */
export interface PageGlobals {
  document: { activeElement: { id: string } | null; cookie: string; documentElement: { scrollWidth: number } };
  innerWidth: number;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM });
}

/** Where this run's failure screenshots go (printed in each failure message). */
export const SHOT_DIR = mkdtempSync(path.join(tmpdir(), 'mosaic-web-shots-'));

/**
 * Runs a test body; on failure, saves a full-page screenshot of every page
 * given and adds their paths to the error.
 */
export async function withScreenshots(name: string, pages: () => Page[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const saved: string[] = [];
    for (const [i, page] of pages().entries()) {
      const file = path.join(SHOT_DIR, `${name.replace(/[^\w-]+/g, '-').slice(0, 80)}-${i}.png`);
      if (await page.screenshot({ path: file, fullPage: true }).then(() => true, () => false)) saved.push(file);
    }
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `${e.message}\n(screenshots: ${saved.join(', ') || 'none could be taken'})`;
    throw e;
  }
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * axe-core's WCAG 2.1 A/AA checks on the page as it is. Injected through
 * the DevTools protocol (the page's CSP forbids inline scripts, rightly), so
 * the page is checked with its real CSP on.
 */
export async function expectNoSeriousViolations(page: Page, where: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run((globalThis as unknown as PageGlobals).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return result.violations;
  })) as AxeViolation[];
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`), `axe on ${where}`).toEqual([]);
}

/** Signs in through the form, as a person would; resolves once the chat shell shows. */
export async function signInThroughForm(page: Page, baseUrl: string, username: string, password: string): Promise<void> {
  await page.goto(baseUrl);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** A page in its own browser context (its own cookies), collecting what went wrong in it. */
export async function newPage(browser: Browser, options: { viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext(options.viewport ? { viewport: options.viewport } : {});
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A 401/403 answer is the API's to give (the page handles it); a refused socket handshake is the page reconnecting.
    if (msg.type() === 'error' && !/status of 40[13]|WebSocket connection to .* failed/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  return { context, page, problems };
}
