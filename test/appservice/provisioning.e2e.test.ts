/**
 * `matrix.unlinkedUsers: provision` with `matrix.autoProvisionDomains`: a
 * Matrix user of an allowlisted homeserver gets a Mosaic account on first
 * contact and an answer; a user of any other homeserver gets the how-to-link
 * line and nothing is created for them.
 */
import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { channelIdentities, conversations, messages, users } from '../../src/db/schema.ts';
import { howToLinkLine } from '../../appservice/identity/identities.ts';
import { ASSISTANT_ID, BOT, ghostOf, inviteAgent, say, SERVER, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
const agent = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  w = await startMatrixWorld({ matrix: { unlinkedUsers: 'provision', autoProvisionDomains: ['partner.example', SERVER] } });
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const identityOf = async (matrixUserId: string) => (await db().select().from(channelIdentities).where(and(eq(channelIdentities.channel, 'matrix'), eq(channelIdentities.channelUserId, matrixUserId))))[0];

describe('auto-provisioning', () => {
  let roomId: string;
  let dana: Awaited<ReturnType<MatrixWorld['hs']['createHuman']>>;

  it('a user of an allowlisted domain gets an account on first contact, and an answer', async () => {
    dana = await w.hs.createHuman('dana', { displayname: 'Dana' });
    expect(await identityOf(dana.userId)).toBeUndefined();
    expect(await db().select().from(users).where(eq(users.username, 'dana'))).toEqual([]);

    roomId = await inviteAgent(w, dana, ASSISTANT_ID);
    const identity = await identityOf(dana.userId);
    expect(identity).toBeDefined();
    const [account] = await db().select().from(users).where(eq(users.id, identity!.userId));
    expect(account).toMatchObject({ username: 'dana', role: 'member', disabledAt: null });
    // The room is a conversation owned by the new account.
    const room = await db().query.conversationMatrixRooms.findFirst({ where: (r, { eq: is }) => is(r.roomId, roomId) });
    const [conv] = await db().select().from(conversations).where(eq(conversations.id, room!.conversationId));
    expect(conv!.ownerId).toBe(account!.id);

    const q = await say(dana, roomId, 'How many legs does a spider have?');
    const answer = await waitForAnswer(dana, roomId, agent, q);
    expect(answer.content['mosaic.routing']).toBeDefined();
    const [stored] = await db().select().from(messages).where(eq(messages.externalId, q));
    expect(stored!.conversationId).toBe(conv!.id);
    // One account, however often they write.
    expect(await db().select().from(users).where(eq(users.username, 'dana'))).toHaveLength(1);
  });

  it('a user of another homeserver gets the how-to-link reply, and no account', async () => {
    // Another server's user (federated into the room): pushed to the appservice like any room event.
    const stranger = '@erin:elsewhere.example';
    const eventId = `$fed-${randomBytes(8).toString('hex')}`;
    const res = await fetch(`${w.registration.url}/_matrix/app/v1/transactions/fed-${randomBytes(4).toString('hex')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${w.registration.hs_token}` },
      body: JSON.stringify({ events: [{ event_id: eventId, room_id: roomId, type: 'm.room.message', sender: stranger, origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: 'Hello, can you help me too?' } }] }),
    });
    expect(res.status).toBe(200);

    const line = await dana.waitForEvent(roomId, (e) => e.sender === agent && e.content.msgtype === 'm.notice' && String(e.content.body).includes(stranger), { timeoutMs: 20_000 });
    expect(line.content.body).toBe(howToLinkLine(stranger, { bot: BOT }));
    // Others are in this room: no sign-in link (a secret bound to the stranger) is shown here.
    expect(line.content.body).not.toContain('/link/matrix');
    expect((line.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id: string } })['m.in_reply_to']?.event_id).toBe(eventId);
    expect(await identityOf(stranger)).toBeUndefined();
    expect(await db().select().from(users).where(eq(users.username, 'erin'))).toEqual([]);
    expect(await db().select().from(messages).where(eq(messages.externalId, eventId))).toEqual([]);
    await until('the event to be processed', async () => (await db().query.appserviceEvents.findFirst({ where: (e, { eq: is }) => is(e.eventId, eventId) }))?.status === 'done');
  });
});
