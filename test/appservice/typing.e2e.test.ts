/**
 * The "it is working on it" signal: the agent shows as typing for as long as
 * it takes to answer, not only for one typing notice's lifetime (a model that
 * thinks for minutes, or a run of tool calls), and stops when the answer is
 * in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Human } from '../homeserver/index.ts';
import { typingUsers } from '../homeserver/api-rooms.ts';
import { ASSISTANT_ID, ghostOf, inviteAgent, say, startMatrixWorld, until, waitForAnswer, type MatrixWorld } from './support.ts';

// One typing notice lasts 900 ms here (30 s in production), renewed every 600 ms; the answer takes several times that.
const TYPING_MS = 900;
let w: MatrixWorld;
let alice: Human & { mosaicUserId: string };
const agent = ghostOf(ASSISTANT_ID);

beforeAll(async () => {
  w = await startMatrixWorld({ matrix: { typingTimeoutMs: TYPING_MS } });
  alice = await w.linkedHuman('alice');
}, 120_000);
afterAll(async () => w?.stop());

describe('typing while answering', () => {
  it('stays on through a long silence before the first word, and goes off with the answer', async () => {
    const roomId = await inviteAgent(w, alice, ASSISTANT_ID);
    const room = w.hs.rooms.rooms.get(roomId)!;
    // The model says nothing for 4 s (thinking), then answers.
    w.mosaic.simulators.anthropic.script({ text: 'Thought about it: yes.', delayMs: 4000 });
    w.mosaic.simulators.zai.script({ text: 'Thought about it: yes.', delayMs: 4000 });
    w.mosaic.simulators.openai.script({ text: 'Thought about it: yes.', delayMs: 4000 });
    const q = await say(alice, roomId, 'Is it worth thinking about?');

    // Sample the room while the model is silent: the agent must be typing at every look.
    const samples: boolean[] = [];
    const answered = waitForAnswer(alice, roomId, agent, q).then(() => true);
    let done = false;
    void answered.then(() => (done = true));
    // Sampling starts once the agent has begun (how soon is not what this test is about).
    await until('the agent to start typing', () => typingUsers(room).includes(agent));
    for (let i = 0; i < 20 && !done; i++) {
      samples.push(typingUsers(room).includes(agent));
      await new Promise((r) => setTimeout(r, 150));
    }
    await answered;
    // At least a few notice lifetimes passed while sampling, so one notice alone would have expired.
    expect(samples.length).toBeGreaterThanOrEqual(16);
    expect(samples.every(Boolean), `typing at each sample: ${samples.join(',')}`).toBe(true);

    // After the answer: no longer typing, and it does not come back.
    await new Promise((r) => setTimeout(r, TYPING_MS * 2));
    expect(typingUsers(room)).not.toContain(agent);
  });
});
