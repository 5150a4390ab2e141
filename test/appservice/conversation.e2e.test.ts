/**
 * A person in a Matrix client talks to an agent: invite the coder's ghost,
 * ask, get a streamed answer from the ghost with routing shown, `/model`,
 * `!history`, and a restart in the middle (AC-1 over Matrix).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../src/db/schema.ts';
import { eq } from 'drizzle-orm';
import type { Human } from '../homeserver/index.ts';
import { answerIn, CODER_ID, say, ghostOf, inviteAgent, startMatrixWorld, waitForAnswer, type MatrixWorld } from './support.ts';

let w: MatrixWorld;
let alice: Human & { mosaicUserId: string; token: string };
const coder = ghostOf(CODER_ID);

beforeAll(async () => {
  w = await startMatrixWorld();
  alice = await w.linkedHuman('alice');
}, 120_000);
afterEach(() => w.hs.assertNoSpecViolations());
afterAll(async () => w?.stop());

const chats = (provider: 'anthropic' | 'openai' | 'zai' | 'openrouter' | 'ollama') => w.mosaic.simulators[provider].chatRequests();

describe('talking to an agent in a Matrix room', () => {
  let roomId: string;

  it('a coding question gets one streamed answer from the coder ghost, with routing shown', async () => {
    roomId = await inviteAgent(w, alice, CODER_ID);
    const answer = 'Use slicing:\n\n```python\nitems = [1, 2, 3]\nprint(items[::-1])\n```\n\nOr `reversed(items)` when you only iterate once. Both keep the original list untouched, and slicing copies it.';
    w.mosaic.simulators.anthropic.script({ text: answer, chunkSize: 12, frameDelayMs: 15 });
    const asked = await say(alice, roomId, 'How do I reverse a list in Python? Please show the code for the function.');
    const finalEdit = await waitForAnswer(alice, roomId, coder, asked);

    const events = (await alice.history(roomId)).filter((e) => e.type === 'm.room.message');
    const answers = answerIn(events, coder);
    expect(answers).toHaveLength(1);
    const [a] = answers;
    // Streamed: the message was sent with partial text and edited, the final edit carries everything.
    expect(a!.edits.length).toBeGreaterThanOrEqual(1);
    expect(a!.edits.at(-1)!.event_id).toBe(finalEdit.event_id);
    expect(a!.text.startsWith(answer)).toBe(true);
    expect(String(a!.original.content.body).length).toBeLessThan(a!.text.length);
    // Routing: a short final line and, machine-readable, mosaic.routing.
    expect(a!.text).toMatch(/— anthropic\/claude-opus-5-5 · rule “Coding → Claude Opus”/);
    const routing = a!.finalContent['mosaic.routing'] as { provider: string; model: string; rule: { name: string } };
    expect(routing).toMatchObject({ provider: 'anthropic', model: 'claude-opus-5-5', rule: { name: 'Coding → Claude Opus' } });
    // Rendered markdown: the code block keeps its language.
    expect(String(a!.finalContent.formatted_body)).toContain('<code class="language-python">');
    expect(a!.original.content.msgtype).toBe('m.text');

    // Stored once, with the Matrix event id as its identity, and the reply linked to it.
    const rows = await w.mosaic.core.database.db.select().from(messages).where(eq(messages.externalId, asked));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.senderId).toBe(alice.userId);
  });

  it('`!model` (and `/model` sent as plain text) pins the model of the next answer; `!history` answers', async () => {
    const before = chats('openai').length;
    const cmd = await say(alice, roomId, '!model openai/gpt-6-sol');
    const notice = await alice.waitForEvent(roomId, (e) => e.sender === coder && e.content.msgtype === 'm.notice', { after: cmd });
    expect(String(notice.content.body)).toContain('Model pinned: **openai/gpt-6-sol**');

    w.mosaic.simulators.openai.script({ text: 'A tuple is immutable; a list is not.' });
    const q = await say(alice, roomId, 'What is the difference between a tuple and a list?');
    const done = await waitForAnswer(alice, roomId, coder, q);
    expect((done.content['mosaic.routing'] as { provider: string; model: string }).model).toBe('gpt-6-sol');
    expect(chats('openai').length).toBe(before + 1);

    // `/model auto` as plain text (what Element sends with /plain) is the same command.
    const slash = await say(alice, roomId, '/model auto');
    const auto = await alice.waitForEvent(roomId, (e) => e.sender === coder && e.content.msgtype === 'm.notice', { after: slash });
    expect(String(auto.content.body)).toContain('automatic routing');

    const h = await say(alice, roomId, '!history');
    const history = await alice.waitForEvent(roomId, (e) => e.sender === coder && e.content.msgtype === 'm.notice', { after: h });
    expect(String(history.content.body)).toMatch(/\*\*History\*\*: \d+ messages/);
    // Commands are not sent to a model.
    expect(chats('openai').length).toBe(before + 1);
  });

  it('a question in a thread is answered in the thread', async () => {
    const root = await say(alice, roomId, 'Starting a thread about sorting algorithms.');
    await waitForAnswer(alice, roomId, coder, root);
    const { event_id: q } = await alice.client.sendEvent(roomId, 'm.room.message' as never, {
      msgtype: 'm.text',
      body: 'Which sorting algorithm is stable?',
      'm.relates_to': { rel_type: 'm.thread', event_id: root, is_falling_back: true, 'm.in_reply_to': { event_id: root } },
    } as never);
    await alice.waitForEvent(roomId, (e) => e.event_id === q);
    await waitForAnswer(alice, roomId, coder, q);
    const events = (await alice.history(roomId)).filter((e) => e.type === 'm.room.message');
    const answer = answerIn(events.slice(events.findIndex((e) => e.event_id === q)), coder)[0]!;
    expect(answer.original.content['m.relates_to']).toMatchObject({ rel_type: 'm.thread', event_id: root });
  });

  it('a message written to the conversation on another surface shows in the room, and its answer is streamed there', async () => {
    const conversationId = (await w.mosaic.core.database.db.query.conversationMatrixRooms.findFirst({ where: (r, { eq: is }) => is(r.roomId, roomId) }))!.conversationId;
    w.mosaic.simulators.anthropic.script({ text: 'Quicksort is not stable; merge sort is.' });
    const res = await w.mosaic.api<{ messageId: string }>(alice.token, 'POST', `/api/conversations/${conversationId}/messages`, { content: 'Is quicksort a stable sorting algorithm? Explain with code.' });
    expect(res.status).toBe(202);
    const mirrored = await alice.waitForEvent(roomId, (e) => e.sender === coder && String(e.content.body).includes('Is quicksort a stable'));
    expect(mirrored.content.msgtype).toBe('m.notice');
    const done = await waitForAnswer(alice, roomId, coder, mirrored.event_id);
    expect(String((done.content['m.new_content'] as { body: string }).body)).toContain('merge sort is');
  });

  it('after a restart the next message is answered with the earlier history (AC-1)', async () => {
    await w.mosaic.restart();
    w.mosaic.simulators.anthropic.script({ text: 'You asked about reversing a list and about tuples.' });
    const q = await say(alice, roomId, 'Can you remind me which Python code questions I asked you so far in this conversation?');
    await waitForAnswer(alice, roomId, coder, q);
    const all = Object.values(w.mosaic.simulators).flatMap((s) => s.chatRequests()).sort((x, y) => x.at - y.at);
    const sent = JSON.stringify(all.at(-1)!.body);
    expect(sent).toContain('How do I reverse a list in Python?');
    expect(sent).toContain('Use slicing');
    expect(sent).toContain('difference between a tuple and a list');
  });
});
