/**
 * The web client and Matrix on one conversation, with the spec-checked test
 * homeserver: a person linked to their Matrix account opens, in Chromium,
 * the conversation of a room they talk in from Element; what they write in
 * Element appears in the page live (marked as from Matrix) with its answer
 * and receipt, and what they write in the page reaches the room. A person
 * links their Matrix account from the settings page: the token's line, sent
 * to the bot, links it; the page lists the link and revokes it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { users } from '../../src/db/schema.ts';
import { hashPassword } from '../../src/identity/passwords.ts';
import { ASSISTANT_ID, BOT, ghostOf, inviteAgent, say, startMatrixWorld, waitForAnswer, type MatrixWorld } from '../appservice/support.ts';
import { launchChromium, newPage, signInThroughForm, withScreenshots } from './browser-support.ts';

let world: MatrixWorld;
let browser: Browser;
const pages: Page[] = [];
const PASSWORD = 'vera has a password';

beforeAll(async () => {
  world = await startMatrixWorld({ webClient: true });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

it('a message written in Element appears live in the web page with its answer; one written in the page reaches the room', () =>
  withScreenshots('matrix and the web page', () => pages, async () => {
    const vera = await world.linkedHuman('vera');
    await world.mosaic.core.database.db.update(users).set({ passwordHash: await hashPassword(PASSWORD) }).where(eq(users.id, vera.mosaicUserId));
    const roomId = await inviteAgent(world, vera, ASSISTANT_ID);
    const link = await world.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq: same }) => same(r.roomId, roomId) });
    const conversationId = link!.conversationId;

    const { page, problems } = await newPage(browser);
    pages.push(page);
    await signInThroughForm(page, world.mosaic.url, 'vera', PASSWORD);
    await page.locator(`a[href="/c/${conversationId}"]`).click();
    await page.locator('.connection[data-status="open"]').waitFor();
    // Subscribed once the (empty) history is in: wait for the socket's ack by waiting for the composer to be usable.
    await page.getByRole('button', { name: 'Send', exact: true }).waitFor();

    const eventId = await say(vera, roomId, 'Hello from Element');
    const fromMatrix = page.locator('li.message.user', { hasText: 'Hello from Element' });
    await fromMatrix.waitFor({ timeout: 20_000 });
    expect(await fromMatrix.innerText()).toContain('via Matrix');
    await waitForAnswer(vera, roomId, ghostOf(ASSISTANT_ID), eventId);
    const answer = page.locator('li.message.assistant', { hasText: 'Echo: Hello from Element' });
    await answer.locator('.receipt [data-receipt="model"]').waitFor({ timeout: 20_000 });

    await page.getByRole('textbox', { name: 'Message' }).fill('Hello from the browser');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const mirrored = await vera.waitForEvent(roomId, (e) => e.type === 'm.room.message' && String(e.content.body).includes('Hello from the browser'), { timeoutMs: 20_000 });
    expect(mirrored.sender).toBe(ghostOf(ASSISTANT_ID));
    await page.locator('li.message.assistant', { hasText: 'Echo: Hello from the browser' }).waitFor({ timeout: 20_000 });
    expect(await page.locator('li.message.user', { hasText: 'Hello from the browser' }).count()).toBe(1);
    world.hs.assertNoSpecViolations();
    expect(problems).toEqual([]);
  }), 120_000);

it('a Matrix account is linked from the settings page with the line it shows, listed there, and unlinked there', () =>
  withScreenshots('linking from the web page', () => pages, async () => {
    const { token } = await world.mosaic.core.accounts.createUser({ username: 'lina', password: PASSWORD });
    const lina = await world.hs.createHuman('lina', { displayname: 'Lina' });
    const { page, problems } = await newPage(browser);
    pages.push(page);
    await signInThroughForm(page, world.mosaic.url, 'lina', PASSWORD);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Matrix accounts' }).waitFor();
    await page.getByText('No Matrix account linked.').waitFor();
    await page.getByRole('button', { name: 'Get a link token' }).click();
    const line = (await page.getByTestId('link-token').locator('pre').innerText()).trim();
    expect(line).toMatch(/^!link [0-9a-f]{64}$/);

    const { room_id } = await lina.client.createRoom({ invite: [BOT], is_direct: true } as never);
    await lina.waitForEvent(room_id, (e) => e.sender === BOT && e.content.msgtype === 'm.notice');
    const sent = await say(lina, room_id, line);
    await lina.waitForEvent(room_id, (e) => e.sender === BOT && /linked/i.test(String(e.content.body)), { after: sent, timeoutMs: 20_000 });

    await page.getByRole('button', { name: 'I sent it: refresh' }).click();
    await page.getByRole('button', { name: `Unlink ${lina.userId}` }).waitFor();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: `Unlink ${lina.userId}` }).click();
    await page.getByText('No Matrix account linked.').waitFor();
    expect((await world.mosaic.api<{ links: unknown[] }>(token, 'GET', '/api/me/links')).body.links).toEqual([]);
    world.hs.assertNoSpecViolations();
    expect(problems).toEqual([]);
  }), 120_000);
