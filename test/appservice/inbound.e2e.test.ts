/**
 * What people do to messages besides sending text: edit them (stored as a
 * new message pointing at the original, not answered), redact them (marked
 * redacted and left out of the model's context), and send images (fetched
 * through the authenticated media API, stored as attachments, seen by a
 * vision model).
 */
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../src/db/schema.ts';
import type { Human } from '../homeserver/index.ts';
import { ASSISTANT_ID, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string };
const agent = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  w = await startMatrixWorld();
  alice = await w.linkedHuman('alice');
  // A fixed answer instead of the default echo, so no answer repeats what a test later checks is gone.
  for (const sim of Object.values(w.mosaic.simulators)) sim.setDefault({ text: 'Noted.' });
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const db = () => w.mosaic.core.database.db;
const allChats = () => Object.values(w.mosaic.simulators).flatMap((s) => s.chatRequests());
const lastChat = () => allChats().sort((a, b) => a.at - b.at).at(-1)!;

async function stored(eventId: string, what = 'the message to be stored') {
  return until(what, async () => (await db().select().from(messages).where(eq(messages.externalId, eventId)))[0]);
}
const repliesTo = async (messageId: string) => db().select().from(messages).where(eq(messages.replyToId, messageId));

describe('edits and redactions', () => {
  let roomId: string;
  beforeAll(async () => {
    roomId = await inviteAgent(w, alice, ASSISTANT_ID);
  });

  it('an edit is stored as a new message pointing at the original, and is not answered', async () => {
    const q = await say(alice, roomId, 'My favourite colour is blue.');
    await waitForAnswer(alice, roomId, agent, q);
    const original = await stored(q);
    const chats = allChats().length;

    const { event_id: edit } = await alice.client.sendEvent(roomId, 'm.room.message' as never, {
      msgtype: 'm.text',
      body: '* My favourite colour is green.',
      'm.new_content': { msgtype: 'm.text', body: 'My favourite colour is green.' },
      'm.relates_to': { rel_type: 'm.replace', event_id: q },
    } as never);
    const row = await stored(edit, 'the edit to be stored');
    expect(row).toMatchObject({ role: 'user', content: 'My favourite colour is green.', editOf: original.id, channel: 'matrix' });
    expect(row.metadata).toMatchObject({ replaces: q, noReply: true });
    // The original is untouched: messages are append-only.
    expect((await db().select().from(messages).where(eq(messages.id, original.id)))[0]!.content).toBe('My favourite colour is blue.');

    // The next question is answered; the edit before it never was (answers run in order per conversation).
    const next = await say(alice, roomId, 'Which season comes after winter?');
    await waitForAnswer(alice, roomId, agent, next);
    expect(await repliesTo(row.id)).toEqual([]);
    expect(allChats().length).toBe(chats + 1);
    expect(JSON.stringify(lastChat().body)).toContain('Which season comes after winter?');
  });

  it("a redaction marks the stored message redacted, and it leaves the model's context", async () => {
    const secret = await say(alice, roomId, 'The launch code is 7741-ZEBRA.');
    await waitForAnswer(alice, roomId, agent, secret);
    const row = await stored(secret);
    // Before the redaction the model sees it.
    expect(JSON.stringify(lastChat().body)).toContain('7741-ZEBRA');

    await alice.client.redactEvent(roomId, secret, undefined, { reason: 'shared by mistake' });
    const redacted = await until('the redaction to be recorded', async () => {
      const [r] = await db().select().from(messages).where(eq(messages.id, row.id));
      return r?.redactedAt ? r : null;
    });
    expect(redacted.metadata).toMatchObject({ redactedBy: alice.userId, redactionReason: 'shared by mistake' });
    expect(redacted.content).toBe('The launch code is 7741-ZEBRA.');

    const q = await say(alice, roomId, 'What did I tell you so far?');
    await waitForAnswer(alice, roomId, agent, q);
    const request = JSON.stringify(lastChat().body);
    expect(request).toContain('What did I tell you so far?');
    expect(request).toContain('My favourite colour is blue.');
    expect(request).not.toContain('7741-ZEBRA');
  });
});

describe('images', () => {
  it('an uploaded m.image is stored as an attachment and reaches a vision model as an image', async () => {
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID);
    // A 1×1 PNG.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const { content_uri } = await alice.client.uploadContent(png, { type: 'image/png', name: 'dot.png' });
    expect(content_uri).toMatch(/^mxc:\/\/test\.local\//);
    const chats = w.mosaic.simulators.anthropic.chatRequests().length;
    const { event_id } = await alice.client.sendMessage(roomId, {
      msgtype: 'm.image',
      body: 'What colour is this pixel?',
      filename: 'dot.png',
      url: content_uri,
      info: { mimetype: 'image/png', size: png.length, w: 1, h: 1 },
    } as never);
    const answer = await waitForAnswer(alice, roomId, agent, event_id);

    const row = await stored(event_id);
    expect(row).toMatchObject({ contentType: 'image', content: 'What colour is this pixel?' });
    expect(row.attachments).toEqual([{ name: 'dot.png', mimeType: 'image/png', url: `data:image/png;base64,${png.toString('base64')}`, sizeBytes: png.length }]);

    // The default rules send images to a model that can see them, and the image is in the request.
    expect(answer.content['mosaic.routing']).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-5-5' });
    expect(w.mosaic.simulators.anthropic.chatRequests().length).toBe(chats + 1);
    const body = w.mosaic.simulators.anthropic.lastChatBody<{ messages: Array<{ role: string; content: unknown }> }>();
    const last = body.messages.at(-1)!;
    expect(last.role).toBe('user');
    expect(last.content).toEqual(
      expect.arrayContaining([
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png.toString('base64') } },
        expect.objectContaining({ type: 'text', text: expect.stringContaining('What colour is this pixel?') }),
      ]),
    );
  });
});
