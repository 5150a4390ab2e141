/**
 * Linking Matrix people to Mosaic accounts, end to end on the test
 * homeserver with real-client humans: link tokens redeemed with `!link`,
 * every way a token can be wrong, lockout, admin provisioning with a
 * welcome DM, revoking, disabled accounts, and the operator's CLI as real
 * processes. The gateway's log is captured: no token ever appears in it.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentLogs, appserviceEvents, channelIdentities, users } from '../../src/db/schema.ts';
import { ephemeralKey } from '../../src/housekeeping/ephemeral-keys.ts';
import { LinkTokenStore } from '../../src/identity/link-token-store.ts';
import type { Human, SyncedEvent } from '../homeserver/index.ts';
import { ASSISTANT_ID, BOT, ghostOf, inviteAgent, say, SERVER, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
/** An invite to a room that is not a Space (linking also invites the person to their personal Space, docs/teams.md). */
const notASpace = (roomId: string) => w.hs.admin.stateContent(roomId, 'm.room.create')?.type !== 'm.space';
const logLines: string[] = [];
const issuedTokens: string[] = [];
const agent = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  w = await startMatrixWorld({ config: { log: { level: 'debug' } }, logDestination: sink });
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const identityOf = async (matrixUserId: string) => (await db().select().from(channelIdentities).where(and(eq(channelIdentities.channel, 'matrix'), eq(channelIdentities.channelUserId, matrixUserId))))[0];
const tokens = () => new LinkTokenStore(w.mosaic.core.valkey, w.mosaic.config.valkey.keyPrefix);

interface Issued {
  token: string;
  expiresAt: string;
  channel: string;
  username: string;
  line: string;
  where: string;
}

async function issue(apiToken: string, body: Record<string, unknown> = {}): Promise<Issued> {
  const res = await w.mosaic.api<Issued>(apiToken, 'POST', '/api/auth/channel-link-token', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  issuedTokens.push(res.body.token);
  return res.body;
}

/** The human opens a DM with the bot and waits for its greeting. */
async function dmWithBot(human: Human): Promise<{ roomId: string; greeting: SyncedEvent }> {
  const { room_id } = await human.client.createRoom({ invite: [BOT], is_direct: true } as never);
  const greeting = await human.waitForEvent(room_id, (e) => e.sender === BOT && e.content.msgtype === 'm.notice');
  return { roomId: room_id, greeting };
}

/** Sends a text in the DM and returns the bot's reply to it. */
async function ask(human: Human, roomId: string, text: string): Promise<string> {
  const eventId = await say(human, roomId, text);
  const reply = await human.waitForEvent(
    roomId,
    (e) => e.sender === BOT && (e.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id: string } } | undefined)?.['m.in_reply_to']?.event_id === eventId,
    { after: eventId, timeoutMs: 20_000 },
  );
  return String(reply.content.body);
}

/**
 * The bot's welcomes in a room, read back through `/messages`: a welcome
 * sent before the person joined is history to them, which `/sync` after
 * the join need not carry.
 */
async function welcomes(human: Human, roomId: string, atLeast = 1): Promise<SyncedEvent[]> {
  return until(`${atLeast} welcome(s) for ${human.userId}`, async () => {
    const found = (await human.history(roomId)).filter((e) => e.sender === BOT && String(e.content.body).includes('Welcome to Mosaic'));
    return found.length >= atLeast ? found : null;
  }, 30_000);
}

function expireInValkey(token: string): Promise<unknown> {
  const key = ephemeralKey(w.mosaic.config.valkey.keyPrefix, 'link', 'token', createHash('sha256').update(token).digest('hex'));
  return w.mosaic.core.valkey.get(key).then((raw) => w.mosaic.core.valkey.set(key, JSON.stringify({ ...JSON.parse(raw!), expiresAt: Date.now() - 1000 }), 'KEEPTTL'));
}

let lena: Human;
let lenaApi: string;
let lenaUserId: string;
let lenaRoom: string;
let lenaToken: string;

describe('token linking', () => {
  it('a token from the API, sent as `!link <token>` to the bot, links the sender: their next message is answered as that account', async () => {
    const account = await w.mosaic.createUser('lena');
    lenaApi = account.token;
    lenaUserId = account.actor.userId;
    lena = await w.hs.createHuman('lena', { displayname: 'Lena' });
    const { roomId: dm, greeting } = await dmWithBot(lena);
    expect(greeting.content.body).toContain(`Your Matrix account ${lena.userId} is not linked`);
    expect(greeting.content.body).toContain('!link <token>');

    const issued = await issue(lenaApi);
    lenaToken = issued.token;
    expect(issued.token).toMatch(/^[0-9a-f]{64}$/);
    expect(issued).toMatchObject({ channel: 'matrix', username: 'lena', line: `!link ${issued.token}`, where: `in a direct message to ${BOT} on Matrix` });
    const ttl = Date.parse(issued.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);

    const reply = await ask(lena, dm, issued.line);
    expect(reply).toContain(`✅ Linked: your Matrix account ${lena.userId} is now linked to the Mosaic account **lena**`);
    expect(reply).not.toContain(issued.token);
    expect((await identityOf(lena.userId))?.userId).toBe(lenaUserId);

    lenaRoom = await inviteAgent(w, lena, ASSISTANT_ID);
    const q = await say(lena, lenaRoom, 'What is the capital of Norway?');
    await waitForAnswer(lena, lenaRoom, agent, q);
    const room = await db().query.conversationMatrixRooms.findFirst({ where: (r, { eq: is }) => is(r.roomId, lenaRoom) });
    const list = await w.mosaic.api<{ items: Array<{ id: string }> }>(lenaApi, 'GET', '/api/conversations');
    expect(list.body.items.map((c) => c.id)).toContain(room!.conversationId);

    const links = await w.mosaic.api<{ links: Array<{ channel: string; channelUserId: string }> }>(lenaApi, 'GET', '/api/me/links');
    expect(links.body.links).toMatchObject([{ channel: 'matrix', channelUserId: lena.userId }]);
    const audit = await db().select().from(agentLogs).where(and(eq(agentLogs.event, 'identity.linked'), eq(agentLogs.userId, lenaUserId)));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.data).toMatchObject({ channel: 'matrix', channelUserId: lena.userId, via: 'token' });
  });

  it('a garbage, unknown, expired or used token gets a clear reply and links nothing; a token of another account is refused to someone linked elsewhere and stays usable', async () => {
    const olga = await w.mosaic.createUser('olga');
    const omar = await w.hs.createHuman('omar');
    const { roomId: dm } = await dmWithBot(omar);

    expect(await ask(omar, dm, '!link hello')).toContain('That is not a link token');
    expect(await ask(omar, dm, `!link ${randomBytes(32).toString('hex')}`)).toContain("I don't know this token");
    const expiring = await issue(olga.token);
    await expireInValkey(expiring.token);
    expect(await ask(omar, dm, expiring.line)).toContain('This token has expired');
    expect(await ask(omar, dm, `!link ${lenaToken}`)).toContain('This token was already used');
    expect(await identityOf(omar.userId)).toBeUndefined();
    expect((await identityOf(lena.userId))?.userId).toBe(lenaUserId);

    // Vera is linked to her own account; Olga's token does not move her.
    const vera = await w.linkedHuman('vera');
    const { roomId: veraDm } = await dmWithBot(vera);
    const olgas = await issue(olga.token);
    const refused = await ask(vera, veraDm, olgas.line);
    expect(refused).toContain(`Your Matrix account ${vera.userId} is already linked to another Mosaic account (**vera**)`);
    expect((await identityOf(vera.userId))?.userId).toBe(vera.mosaicUserId);
    expect(await tokens().inspect(olgas.token)).toMatchObject({ state: 'valid' });

    // Olga's token links whoever redeems it to Olga's account, and only once.
    expect(await ask(omar, dm, olgas.line)).toContain('now linked to the Mosaic account **olga**');
    expect((await identityOf(omar.userId))?.userId).toBe(olga.actor.userId);
    expect(await ask(vera, veraDm, olgas.line)).toContain('This token was already used');
  });

  it('repeated failures lock the Matrix account out, with a clear message, even for a valid token', async () => {
    const pia = await w.hs.createHuman('pia');
    const account = await w.mosaic.createUser('pia');
    const { roomId: dm } = await dmWithBot(pia);
    for (let i = 1; i < 5; i++) expect(await ask(pia, dm, `!link wrong-${i}`)).not.toContain('try again');
    expect(await ask(pia, dm, '!link wrong-5')).toContain('That was too many failed attempts: try again in 15 minutes.');
    const valid = await issue(account.token);
    expect(await ask(pia, dm, valid.line)).toBe(`⚠️ Too many failed link attempts from ${pia.userId}. Try again in 15 minutes.`);
    expect(await identityOf(pia.userId)).toBeUndefined();
    expect(await tokens().inspect(valid.token)).toMatchObject({ state: 'valid' });
  });

  it('`!link` in a room others can read is not stored, and cancels the token', async () => {
    const nora = await w.linkedHuman('nora');
    const other = await w.hs.createHuman('other-person');
    const room = await inviteAgent(w, nora, ASSISTANT_ID, { invite: [other.userId] });
    await other.client.joinRoom(room);
    const account = await w.mosaic.createUser('nora-second');
    const shown = await issue(account.token);
    const eventId = await say(nora, room, shown.line);
    const reply = await nora.waitForEvent(room, (e) => e.sender === agent && String(e.content.body).includes('A link token is a secret'), { after: eventId });
    expect(reply.content.body).toContain('is now cancelled');
    expect(await tokens().inspect(shown.token)).toMatchObject({ state: 'cancelled' });
    expect(await db().query.messages.findFirst({ where: (m, { eq: is }) => is(m.externalId, eventId) })).toBeUndefined();
  });
});

describe('admin provisioning', () => {
  it('POST /api/admin/users with matrixUserId links at once; the bot welcomes the person, who is answered without linking', async () => {
    const quinn = await w.hs.createHuman('quinn');
    const created = await w.mosaic.api<{ user: { id: string; username: string }; links: unknown[] }>(w.mosaic.adminToken, 'POST', '/api/admin/users', { username: 'quinn', matrixUserId: quinn.userId });
    expect(created.status).toBe(201);
    expect(created.body.links).toEqual([{ channel: 'matrix', channelUserId: quinn.userId }]);
    expect((await identityOf(quinn.userId))?.userId).toBe(created.body.user.id);

    const dm = await quinn.waitForInvite(notASpace, 20_000);
    await quinn.client.joinRoom(dm);
    const [welcome] = await welcomes(quinn, dm);
    expect(welcome!.content.body).toContain(`linked to the Mosaic account **quinn**`);
    expect(welcome!.content.body).toContain(agent);
    expect(welcome!.content.body).toContain('!new');
    expect(w.hs.admin.stateContent(dm, 'm.room.member', quinn.userId)).toMatchObject({ membership: 'join' });

    const room = await inviteAgent(w, quinn, ASSISTANT_ID);
    const q = await say(quinn, room, 'Name a prime number.');
    await waitForAnswer(quinn, room, agent, q);
    const mapped = await db().query.conversationMatrixRooms.findFirst({ where: (r, { eq: is }) => is(r.roomId, room) });
    const conv = await db().query.conversations.findFirst({ where: (c, { eq: is }) => is(c.id, mapped!.conversationId) });
    expect(conv!.ownerId).toBe(created.body.user.id);
  });

  it('a Matrix id linked elsewhere, an invalid one, or one of our own users is refused and nothing is created', async () => {
    const taken = await w.mosaic.api<{ error: { code: string; message: string } }>(w.mosaic.adminToken, 'POST', '/api/admin/users', { username: 'quinn-two', matrixUserId: `@quinn:${SERVER}` });
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toContain('already linked to account "quinn"; unlink it first');
    for (const bad of ['quinn', '@quinn', `@:${SERVER}`, `@qu inn:${SERVER}`, `@${'q'.repeat(250)}:${SERVER}`, BOT, `@mosaic_agent_${ASSISTANT_ID}:${SERVER}`, 42]) {
      const res = await w.mosaic.api<{ error: { code: string } }>(w.mosaic.adminToken, 'POST', '/api/admin/users', { username: 'quinn-two', matrixUserId: bad });
      expect(res.status, String(bad)).toBe(400);
      expect(res.body.error.code).toBe('bad_request');
    }
    expect(await db().select().from(users).where(eq(users.username, 'quinn-two'))).toEqual([]);
  });

  it('a welcome the homeserver refuses for good (no such Matrix user) is not retried; the link stands', async () => {
    const nobody = `@nobody-here:${SERVER}`;
    const created = await w.mosaic.api<{ user: { id: string } }>(w.mosaic.adminToken, 'POST', '/api/admin/users', { username: 'nobody-here', matrixUserId: nobody });
    expect(created.status).toBe(201);
    type Job = { id: string; state: string; attemptsMade: number; failedReason: string | null; data: { channelUserId: string } };
    let seen: Job | undefined;
    const job = await until('the welcome job to finish', async () => {
      const list = await w.mosaic.api<{ jobs: Job[] }>(w.mosaic.adminToken, 'GET', '/api/admin/jobs?queue=mosaic:channel-identities&limit=200');
      for (const j of list.body.jobs) {
        const detail = (await w.mosaic.api<Job>(w.mosaic.adminToken, 'GET', `/api/admin/jobs/${j.id}`)).body;
        if (detail.data.channelUserId === nobody) seen = detail;
      }
      return seen && (seen.state === 'completed' || seen.state === 'failed') ? seen : null;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${JSON.stringify(seen)}`);
    });
    expect(job).toMatchObject({ state: 'completed', attemptsMade: 1 });
    expect((await identityOf(nobody))?.userId).toBe(created.body.user.id);
  }, 60_000);

  it('POST /api/admin/users/:username/links links an existing account (admins only); the person is welcomed', async () => {
    const wes = await w.hs.createHuman('wes');
    const account = await w.mosaic.createUser('wes');
    const path = '/api/admin/users/wes/links';
    expect((await w.mosaic.api(account.token, 'POST', path, { matrixUserId: wes.userId })).status).toBe(403);
    expect((await w.mosaic.api(w.mosaic.adminToken, 'POST', path, {})).status).toBe(400);
    expect((await w.mosaic.api(w.mosaic.adminToken, 'POST', '/api/admin/users/nobody/links', { matrixUserId: wes.userId })).status).toBe(404);
    const linked = await w.mosaic.api(w.mosaic.adminToken, 'POST', path, { matrixUserId: wes.userId });
    expect(linked).toMatchObject({ status: 201, body: { username: 'wes', channel: 'matrix', channelUserId: wes.userId, linked: true } });
    expect((await w.mosaic.api(w.mosaic.adminToken, 'POST', path, { matrixUserId: wes.userId })).body).toMatchObject({ linked: false });
    const dm = await wes.waitForInvite(notASpace, 20_000);
    await wes.client.joinRoom(dm);
    expect((await welcomes(wes, dm))[0]!.content.body).toContain('linked to the Mosaic account **wes**');
    const audit = await db().select().from(agentLogs).where(and(eq(agentLogs.event, 'identity.linked'), eq(agentLogs.userId, account.actor.userId)));
    expect(audit.map((a) => a.data)).toMatchObject([{ via: 'admin', by: 'admin', channelUserId: wes.userId }]);
  });
});

describe('seeing and revoking links', () => {
  it('revoking takes effect at once: the next message gets the how-to-link reply; others cannot revoke it', async () => {
    const stranger = await w.mosaic.createUser('stranger');
    const path = `/api/auth/channel-links/matrix/${encodeURIComponent(lena.userId)}`;
    expect((await w.mosaic.api(stranger.token, 'DELETE', path)).status).toBe(404);
    expect((await identityOf(lena.userId))?.userId).toBe(lenaUserId);
    expect((await w.mosaic.api(lenaApi, 'DELETE', path)).status).toBe(204);
    expect((await w.mosaic.api(lenaApi, 'DELETE', path)).status).toBe(404);
    expect((await w.mosaic.api<{ links: unknown[] }>(lenaApi, 'GET', '/api/me/links')).body.links).toEqual([]);

    const q = await say(lena, lenaRoom, 'Are you still there?');
    const refusal = await lena.waitForEvent(lenaRoom, (e) => e.sender === agent && e.content.msgtype === 'm.notice', { after: q });
    expect(refusal.content.body).toContain(`Your Matrix account ${lena.userId} is not linked to a Mosaic account`);
    // The option to remove unlinked people from rooms is off by default.
    expect(w.hs.admin.stateContent(lenaRoom, 'm.room.member', lena.userId)).toMatchObject({ membership: 'join' });
    const audit = await db().select().from(agentLogs).where(and(eq(agentLogs.event, 'identity.unlinked'), eq(agentLogs.userId, lenaUserId)));
    expect(audit[0]?.data).toMatchObject({ via: 'self', channelUserId: lena.userId });

    // An admin may revoke anyone's link.
    expect((await w.mosaic.api(w.mosaic.adminToken, 'DELETE', `/api/auth/channel-links/matrix/${encodeURIComponent(`@quinn:${SERVER}`)}`)).status).toBe(204);
    expect(await identityOf(`@quinn:${SERVER}`)).toBeUndefined();
  });

  it("a disabled account's Matrix messages are refused with a clear notice, and its tokens link nothing; a deleted one's get the how-to-link notice", async () => {
    const ivy = await w.linkedHuman('ivy');
    const { roomId: dm } = await dmWithBot(ivy);
    const token = await issue(ivy.token);
    expect((await w.mosaic.api(w.mosaic.adminToken, 'POST', '/api/admin/users/ivy/disable')).status).toBe(200);
    expect(await ask(ivy, dm, '!agents')).toBe(`Your Matrix account ${ivy.userId} is linked to the Mosaic account **ivy**, which is disabled, so I can't answer you. Ask your Mosaic admin.`);
    const sam = await w.hs.createHuman('sam-disabled');
    const { roomId: samDm } = await dmWithBot(sam);
    expect(await ask(sam, samDm, token.line)).toContain('is disabled, so nothing was linked');
    expect(await identityOf(sam.userId)).toBeUndefined();
    // Deleted: the account and its links are gone, so the person is told how to link again.
    expect((await w.mosaic.api(w.mosaic.adminToken, 'DELETE', '/api/admin/users/ivy')).status).toBe(200);
    expect(await identityOf(ivy.userId)).toBeUndefined();
    expect(await ask(ivy, dm, '!agents')).toContain(`Your Matrix account ${ivy.userId} is not linked to a Mosaic account`);
  });
});

describe('the operator CLI', () => {
  const BIN = path.resolve('bin/mosaic.js');
  function mosaic(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      LOG_LEVEL: 'silent',
      DATABASE_URL: w.mosaic.config.database.url!,
      VALKEY_URL: w.mosaic.config.valkey.url,
      VALKEY_PREFIX: w.mosaic.config.valkey.keyPrefix,
      MATRIX_SERVER_NAME: SERVER,
    };
    return new Promise((resolve) => {
      execFile('node', [BIN, ...args], { cwd: mkdtempSync(path.join(tmpdir(), 'mosaic-link-cli-')), env, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it('`mosaic user create NAME --matrix ID` welcomes the person; `mosaic user unlink` and `link` change it; `mosaic link` prints the line to paste', async () => {
    const rita = await w.hs.createHuman('rita');
    const created = await mosaic('user', 'create', 'rita', '--matrix', rita.userId);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`linked to ${rita.userId}`);
    const dm = await rita.waitForInvite(notASpace, 30_000);
    await rita.client.joinRoom(dm);
    await welcomes(rita, dm);

    const unlinked = await mosaic('user', 'unlink', 'rita', rita.userId);
    expect(unlinked.code, unlinked.stderr).toBe(0);
    expect(await identityOf(rita.userId)).toBeUndefined();
    const wrong = await mosaic('user', 'link', 'rita', 'rita@example.org');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('must start with @');

    const printed = await mosaic('link', 'rita');
    expect(printed.code, printed.stderr).toBe(0);
    const lines = printed.stdout.trim().split('\n');
    expect(lines.at(-2)).toBe(`Send this line in a direct message to ${BOT} on Matrix:`);
    const line = lines.at(-1)!;
    expect(line).toMatch(/^!link [0-9a-f]{64}$/);
    issuedTokens.push(line.slice(6));
    expect(await ask(rita, dm, line)).toContain('now linked to the Mosaic account **rita**');

    await mosaic('user', 'unlink', 'rita', rita.userId);
    const relinked = await mosaic('user', 'link', 'rita', rita.userId);
    expect(relinked.code, relinked.stderr).toBe(0);
    expect(relinked.stdout).toBe(`linked ${rita.userId} to rita\n`);
    // The welcome goes to the DM they already have with the bot.
    await welcomes(rita, dm, 2);
  }, 180_000);
});

describe('secrets', () => {
  it('no link token ever appears in the log', () => {
    expect(issuedTokens.length).toBeGreaterThan(4);
    expect(logLines.length).toBeGreaterThan(100);
    const all = logLines.join('');
    for (const token of issuedTokens) expect(all.includes(token), 'a link token was logged').toBe(false);
    expect(all).toContain('"event":"identity.linked"');
  });

  it('no link token stays in the event journal once its event is processed', async () => {
    const rows = await db().select({ payload: appserviceEvents.payload, status: appserviceEvents.status }).from(appserviceEvents);
    const finished = JSON.stringify(rows.filter((r) => r.status !== 'pending'));
    expect(finished).toContain('!link (token removed once processed)');
    for (const token of issuedTokens) expect(finished.includes(token), 'a link token stayed in the journal').toBe(false);
  });
});
