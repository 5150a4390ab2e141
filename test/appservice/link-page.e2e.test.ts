/**
 * The browser link flow end to end: the bot's reply to an unlinked person
 * carries a sign-in link bound to them; in real Chromium they sign in on
 * the link page, confirm, and are linked; the bot confirms in their DM.
 * Forged, replayed and cross-step forms are refused; password failures
 * cancel the link. With `matrix.removeFromRoomsOnUnlink`, revoking removes
 * the person from the rooms Mosaic made for them.
 */
import { and, eq } from 'drizzle-orm';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities } from '../../src/db/schema.ts';
import type { Human, SyncedEvent } from '../homeserver/index.ts';
import { ASSISTANT_ID, BOT, freePort, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let browser: Browser;
let publicUrl: string;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  w = await startMatrixWorld({ config: { http: { port, publicUrl } }, matrix: { removeFromRoomsOnUnlink: true } });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

const db = () => w.mosaic.core.database.db;
const identityOf = async (matrixUserId: string) => (await db().select().from(channelIdentities).where(and(eq(channelIdentities.channel, 'matrix'), eq(channelIdentities.channelUserId, matrixUserId))))[0];
const signInUrlIn = (e: SyncedEvent) => /(http:\/\/127\.0\.0\.1:\d+\/link\/matrix\?state=[A-Za-z0-9_-]{43})/.exec(String(e.content.body))?.[1] ?? null;
const formOf = (html: string) => /name="form" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function account(name: string): Promise<string> {
  await w.mosaic.core.accounts.createUser({ username: name, password: PASSWORD });
  return (await w.mosaic.core.accounts.users.findByUsername(name))!.id;
}

async function dmWithBot(human: Human): Promise<{ roomId: string; greeting: SyncedEvent }> {
  const { room_id } = await human.client.createRoom({ invite: [BOT], is_direct: true } as never);
  const greeting = await human.waitForEvent(room_id, (e) => e.sender === BOT && e.content.msgtype === 'm.notice');
  return { roomId: room_id, greeting };
}

/** A fresh sign-in link: `!link` alone in the DM. */
async function freshLink(human: Human, dm: string): Promise<string> {
  const asked = await say(human, dm, '!link');
  const reply = await human.waitForEvent(dm, (e) => e.sender === BOT && signInUrlIn(e) !== null, { after: asked });
  return signInUrlIn(reply)!;
}

const post = (url: string, fields: Record<string, string>, type = 'application/x-www-form-urlencoded') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body: type.includes('json') ? JSON.stringify(fields) : new URLSearchParams(fields).toString(), redirect: 'manual' });

let sam: Human;
let samDm: string;
let samUserId: string;

describe('the browser link flow', () => {
  it('the bot links an unlinked person to a sign-in page; in Chromium they sign in, confirm, and are answered as their account', async () => {
    samUserId = await account('sam');
    sam = await w.hs.createHuman('sam', { displayname: 'Sam' });
    const { roomId, greeting } = await dmWithBot(sam);
    samDm = roomId;
    const url = signInUrlIn(greeting);
    expect(url, String(greeting.content.body)).not.toBeNull();
    expect(url!.startsWith(`${publicUrl}/link/matrix?state=`)).toBe(true);

    const context = await browser.newContext();
    const page = await context.newPage();
    const outside: string[] = [];
    page.on('request', (r) => void (r.url().startsWith(publicUrl) || outside.push(r.url())));
    const first = await page.goto(url!);
    expect(first!.status()).toBe(200);
    const headers = first!.headers();
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['content-security-policy']).toContain("form-action 'self'");
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['set-cookie']).toBeUndefined();
    expect(await page.locator('h1').textContent()).toBe('Link your Matrix account');
    expect(await page.locator('main').textContent()).toContain(sam.userId);
    expect(await page.locator('script').count()).toBe(0);

    await page.fill('#username', 'sam');
    await page.fill('#password', 'not the password');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    expect(await page.locator('[role=alert]').textContent()).toContain('Wrong username or password');

    await page.fill('#username', 'sam');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${publicUrl}/link/matrix/sign-in`), page.click('button[type=submit]')]);
    expect(await page.locator('h1').textContent()).toBe('Confirm the link');
    expect(await page.locator('main').textContent()).toContain(`Only confirm if ${sam.userId} is you`);
    expect(await identityOf(sam.userId)).toBeUndefined();
    await Promise.all([page.waitForURL(`${publicUrl}/link/matrix/confirm`), page.click('button[value=link]')]);
    expect(await page.locator('h1').textContent()).toBe('Linked');
    expect(await page.locator('[role=status]').textContent()).toContain(`is linked to the Mosaic account sam`);
    expect(outside).toEqual([]);
    expect((await context.cookies()).length).toBe(0);

    expect((await identityOf(sam.userId))?.userId).toBe(samUserId);
    const confirmed = await sam.waitForEvent(samDm, (e) => e.sender === BOT && String(e.content.body).includes('through the link page'), { timeoutMs: 20_000 });
    expect(confirmed.content.body).toContain(`now linked to the Mosaic account **sam**`);

    // The link worked once.
    const again = await page.goto(url!);
    expect(again!.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('This link has expired');
    await context.close();

    const room = await inviteAgent(w, sam, ASSISTANT_ID);
    const q = await say(sam, room, 'How many sides has a hexagon?');
    await waitForAnswer(sam, room, ghostOf(ASSISTANT_ID), q);
  });

  it('forged, replayed and cross-step forms are refused; cancelling links nothing', async () => {
    await account('tess');
    const tess = await w.hs.createHuman('tess');
    const { roomId: dm } = await dmWithBot(tess);
    const url = await freshLink(tess, dm);
    const state = new URL(url).searchParams.get('state')!;
    const signIn = `${publicUrl}/link/matrix/sign-in`;
    const confirm = `${publicUrl}/link/matrix/confirm`;

    const opened = await fetch(url);
    const signInForm = formOf(await opened.text());
    expect(signInForm).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A made-up form token, a JSON body, and a sign-in form used for the confirm step.
    expect((await post(signIn, { state, form: 'x'.repeat(43), username: 'tess', password: PASSWORD })).status).toBe(400);
    expect((await post(signIn, { state, form: signInForm, username: 'tess', password: PASSWORD }, 'application/json')).status).toBe(415);
    expect((await post(confirm, { state, form: signInForm, decision: 'link' })).status).toBe(400);
    expect(await identityOf(tess.userId)).toBeUndefined();

    // That form token was used up by the attempt above; a fresh page gives a new one.
    const fresh = formOf(await (await fetch(url)).text());
    const signedIn = await post(signIn, { state, form: fresh, username: 'tess', password: PASSWORD });
    expect(signedIn.status).toBe(200);
    const confirmForm = formOf(await signedIn.text());
    // Replaying the sign-in form, or confirming for another state, does nothing.
    expect((await post(signIn, { state, form: fresh, username: 'tess', password: PASSWORD })).status).toBe(400);
    const otherUrl = await freshLink(tess, dm);
    expect((await post(confirm, { state: new URL(otherUrl).searchParams.get('state')!, form: confirmForm, decision: 'link' })).status).toBe(400);
    expect(await identityOf(tess.userId)).toBeUndefined();

    // The first state's confirm form was spent on the wrong state: sign in again and cancel.
    const signedInAgain = await post(signIn, { state, form: formOf(await (await fetch(url)).text()), username: 'tess', password: PASSWORD });
    const cancelled = await post(confirm, { state, form: formOf(await signedInAgain.text()), decision: 'cancel' });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.text()).toContain('Nothing was linked');
    expect(await identityOf(tess.userId)).toBeUndefined();
    expect((await fetch(url)).status).toBe(410);
  });

  it('a sign-in link is only shown to the person alone: in a room with others the reply says to ask the bot in a DM', async () => {
    const host = await w.linkedHuman('host');
    const guest = await w.hs.createHuman('guest');
    const room = await inviteAgent(w, host, ASSISTANT_ID, { invite: [guest.userId] });
    await guest.client.joinRoom(room);
    const q = await say(guest, room, `${ghostOf(ASSISTANT_ID)}: hello, can you help me?`);
    const refusal = await guest.waitForEvent(room, (e) => e.sender === ghostOf(ASSISTANT_ID) && String(e.content.body).includes(guest.userId), { after: q });
    expect(refusal.content.body).toContain('is not linked');
    expect(refusal.content.body).toContain(`send \`!link\` to ${BOT} in a direct message`);
    expect(signInUrlIn(refusal)).toBeNull();
    expect(String(refusal.content.body)).not.toContain('/link/matrix');
  });

  it('too many wrong passwords cancel the link', async () => {
    await account('uma');
    const uma = await w.hs.createHuman('uma');
    const { roomId: dm } = await dmWithBot(uma);
    const url = await freshLink(uma, dm);
    const state = new URL(url).searchParams.get('state')!;
    let last: Response | null = null;
    for (let i = 0; i < 5; i++) {
      const form = formOf(await (await fetch(url)).text());
      last = await post(`${publicUrl}/link/matrix/sign-in`, { state, form, username: 'uma', password: `wrong ${i}` });
    }
    expect(last!.status).toBe(429);
    expect(await last!.text()).toContain('This link is cancelled');
    expect((await fetch(url)).status).toBe(410);
    expect(await identityOf(uma.userId)).toBeUndefined();
  });
});

describe('revoking with matrix.removeFromRoomsOnUnlink', () => {
  it("removes the person from the rooms Mosaic made for their account's conversations; their next message gets the how-to-link reply", async () => {
    const started = await say(sam, samDm, '!new Revocation test');
    const reply = await sam.waitForEvent(samDm, (e) => e.sender === BOT && String(e.content.body).startsWith('Started **Revocation test**'), { after: started });
    const managed = decodeURIComponent(/matrix\.to\/#\/([^\s)]+)/.exec(String(reply.content.body))![1]!);
    await sam.waitForInvite((r) => r === managed);
    await sam.client.joinRoom(managed);

    const samApi = (await w.mosaic.core.accounts.tokens.issue({ userId: samUserId, username: 'sam', role: 'member' })).token;
    expect((await w.mosaic.api(samApi, 'DELETE', `/api/auth/channel-links/matrix/${encodeURIComponent(sam.userId)}`)).status).toBe(204);
    await until('sam to be removed from the managed room', () => w.hs.admin.stateContent(managed, 'm.room.member', sam.userId)?.membership === 'leave');
    const kick = w.hs.admin.timeline(managed).find((e) => e.type === 'm.room.member' && e.state_key === sam.userId && e.sender === BOT && (e.content as { membership?: string }).membership === 'leave');
    expect(kick?.content).toMatchObject({ reason: 'Your Matrix account was unlinked from its Mosaic account.' });
    // The DM stays: that is where they can link again.
    expect(w.hs.admin.stateContent(samDm, 'm.room.member', sam.userId)).toMatchObject({ membership: 'join' });

    const asked = await say(sam, samDm, '!rooms');
    const refusal = await sam.waitForEvent(samDm, (e) => e.sender === BOT && String(e.content.body).includes('is not linked'), { after: asked });
    expect(signInUrlIn(refusal)).not.toBeNull();
  });
});
