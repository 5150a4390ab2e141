/**
 * Crashes, injected from outside into real processes: Mosaic SIGKILLed in
 * the middle of a streamed answer, before a queued answer ran, and twice in
 * a row while it was recovering; the model process killed mid-stream. Every
 * accepted message is answered exactly once (or gets a specific notice),
 * a retried answer says so, and no answer costs a third model call.
 * Its own redis-server, PostgreSQL and model process (test/faults/support.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultEnv, sleep, until } from './support.ts';

let env: FaultEnv;
beforeAll(async () => {
  env = await FaultEnv.create();
}, 300_000);
afterAll(async () => env?.close());

/** A message whose echoed answer streams for a couple of seconds (the model sends 6 characters every 40 ms). */
const long = (label: string) => `${label}: ${'a long answer please '.repeat(12)}`;
/** Chat requests the model received for this message (its text may reach the model wrapped, so it is matched by its label). */
const chatsFor = (text: string) => env.model.chats().filter((c) => c.includes(text.slice(0, text.indexOf(':') + 1))).length;

function exactlyOnce(rows: Awaited<ReturnType<FaultEnv['rows']>>, options: { modelDied?: boolean } = {}) {
  const users = rows.filter((r) => r.role === 'user');
  for (const u of users) expect(FaultEnv.answersTo(rows, u.id), `answers to "${u.content.slice(0, 40)}"`).toHaveLength(1);
  // The model never is down here (its health is never read as down); only when it just died may a notice say it failed.
  expect(rows.filter((r) => /is down/.test(r.content)).map((r) => r.content)).toEqual([]);
  if (!options.modelDied) expect(rows.filter((r) => /No model can take this message/.test(r.content)).map((r) => r.content)).toEqual([]);
}

describe('Mosaic killed (SIGKILL)', () => {
  it('during a stream: the answer resumes after the restart, once, marked as a retry; the message queued behind it is answered once, in order', async () => {
    const conv = await env.conversation();
    const first = long('During a stream');
    const a = await env.send(conv, first);
    // Queued behind the first (one answer at a time per conversation): its job has not run when the crash comes.
    const b = await env.send(conv, 'And a short one after it');
    expect([a.status, b.status]).toEqual([202, 202]);
    await until('the model to stream the first answer', () => chatsFor(first) === 1);
    await sleep(400);
    await env.crash();
    const restartedAt = Date.now();
    await env.startMosaic();
    const listeningAt = Date.now();
    const rows = await env.answered(conv, [a.messageId!, b.messageId!]);
    const answeredAt = Date.now();
    exactlyOnce(rows);
    const answerA = FaultEnv.answersTo(rows, a.messageId!)[0]!;
    expect(answerA.role, answerA.content).toBe('assistant');
    expect(answerA.metadata.retry).toMatchObject({ attempt: 2, reason: expect.stringMatching(/cut off/) });
    expect(chatsFor(first)).toBe(2);
    expect(env.model.chats().filter((c) => c.includes('And a short one after it'))).toHaveLength(1);
    // Order held: the second answer comes after the first.
    const ids = rows.map((r) => r.id);
    expect(ids.indexOf(FaultEnv.answersTo(rows, b.messageId!)[0]!.id)).toBeGreaterThan(ids.indexOf(answerA.id));
    expect(env.logs().some((l) => l.event === 'answer.retry')).toBe(true);
    // A figure for the report, not an assertion (bench/recovery.ts measures it properly).
    console.log(`crash during a stream: answered ${answeredAt - listeningAt} ms after the restart listened (${answeredAt - restartedAt} ms after the restart began)`);
  }, 240_000);

  it('right after a message was accepted: it is answered once after the restart', async () => {
    const conv = await env.conversation();
    const sent = await env.send(conv, 'Accepted just before the crash');
    expect(sent.status).toBe(202);
    await env.crash();
    await env.startMosaic();
    const rows = await env.answered(conv, [sent.messageId!]);
    exactlyOnce(rows);
    expect(env.model.chats().filter((c) => c.includes('Accepted just before the crash')).length).toBeLessThanOrEqual(2);
  }, 240_000);

  it('twice in a row while recovering: one retry, then a specific notice instead of a third paid call', async () => {
    const conv = await env.conversation();
    const text = long('Twice');
    const sent = await env.send(conv, text);
    await until('the first try to stream', () => chatsFor(text) === 1);
    await sleep(300);
    await env.crash();
    await env.startMosaic();
    await until('the retry to stream', () => chatsFor(text) === 2, 60_000);
    await sleep(300);
    await env.crash();
    await env.startMosaic();
    const rows = await env.answered(conv, [sent.messageId!]);
    exactlyOnce(rows);
    const answer = FaultEnv.answersTo(rows, sent.messageId!)[0]!;
    expect(answer.role).toBe('system');
    expect(answer.content).toMatch(/cut off 2 times/);
    expect(chatsFor(text)).toBe(2);
    // The process answers new messages normally afterwards.
    const after = await env.send(conv, 'Still there?');
    exactlyOnce(await env.answered(conv, [after.messageId!]));
  }, 300_000);
});

describe('the model killed mid-stream', () => {
  it('gives one clear, true notice naming the model', async () => {
    const conv = await env.conversation();
    const text = long('Model dies');
    const sent = await env.send(conv, text);
    await until('the model to stream', () => chatsFor(text) === 1);
    await sleep(300);
    await env.model.kill();
    try {
      const rows = await env.answered(conv, [sent.messageId!]);
      exactlyOnce(rows, { modelDied: true });
      const answer = FaultEnv.answersTo(rows, sent.messageId!)[0]!;
      expect(answer.role).toBe('system');
      // Text had reached the person: the model is named as the one that could not answer. Before any text
      // (a slow start under load) it may fail over, and the only model having failed just now is said so.
      expect(answer.content).toMatch(/openai\/gpt-6-luna could not answer|gpt-6-luna failed just now/);
    } finally {
      await env.model.start();
    }
  }, 120_000);
});
