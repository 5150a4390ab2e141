/**
 * The attacker suite against the live socket of the real running gateway:
 * every hostile frame gets an error naming what is wrong (or a close with
 * a reason), changes no row and no Valkey key, and the process and the
 * socket's other subscriptions carry on. Refused upgrades likewise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { TestSocket, waitFor } from '../live/support.ts';
import { expectResponsive, settled, snapshot, type Surroundings } from './attack.ts';

let t: TestMosaic;
let around: Surroundings;
let alice: { token: string };
let mine: string;
let bobs: string;
let bobsMessage: string;
let socket: TestSocket;

beforeAll(async () => {
  t = await startTestMosaic({ config: { health: { probeIntervalSeconds: 86_400 }, live: { maxFrameBytes: 262_144, framesPerSecond: 50 } } });
  alice = await t.createUser('alice');
  const bob = await t.createUser('bob');
  mine = (await t.api<{ id: string }>(alice.token, 'POST', '/api/conversations', {})).body.id;
  bobs = (await t.api<{ id: string }>(bob.token, 'POST', '/api/conversations', {})).body.id;
  bobsMessage = (await t.api<{ messageId: string }>(bob.token, 'POST', `/api/conversations/${bobs}/messages`, { content: 'bob only' })).body.messageId;
  socket = await TestSocket.open(t.url, { token: alice.token });
  expect(await socket.request({ type: 'subscribe', conversationId: mine })).toMatchObject({ type: 'ack' });
  around = { db: t.core.database.db, valkey: t.core.valkey, prefix: t.config.valkey.keyPrefix, healthz: `${t.url}/healthz` };
  await settled(around);
}, 120_000);
afterAll(async () => {
  socket?.terminate();
  await t?.stop();
});

interface FrameCase {
  name: string;
  /** A frame object (sent as JSON), or raw text / bytes. */
  frame: () => Record<string, unknown> | { raw: string } | { binary: Buffer };
  code: string;
  reason?: string;
}

const deep = (n: number) => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`) as unknown;

const CASES: FrameCase[] = [
  { name: 'not JSON', frame: () => ({ raw: '{"type":"send",' }), code: 'invalid_json' },
  { name: 'JSON that is not an object', frame: () => ({ raw: '[{"type":"ping"}]' }), code: 'invalid_frame' },
  { name: 'a binary frame', frame: () => ({ binary: Buffer.from('{"type":"ping"}') }), code: 'binary_frame' },
  { name: 'an unknown type', frame: () => ({ type: 'admin', conversationId: mine }), code: 'unknown_frame' },
  { name: 'a type that is not a string', frame: () => ({ type: { $ne: null } }), code: 'unknown_frame' },
  { name: 'a field the frame does not have', frame: () => ({ type: 'subscribe', conversationId: mine, owner: 'bob' }), code: 'invalid_frame' },
  { name: 'NUL in message content', frame: () => ({ type: 'send', conversationId: mine, content: 'a\u0000b' }), code: 'invalid_frame', reason: 'nul' },
  { name: 'NUL in a clientMessageId', frame: () => ({ type: 'send', conversationId: mine, content: 'hi', clientMessageId: 'x\u0000' }), code: 'invalid_frame', reason: 'nul' },
  { name: 'a lone surrogate in content', frame: () => ({ raw: `{"type":"send","conversationId":"${mine}","content":"\\ud800"}` }), code: 'invalid_frame', reason: 'lone_surrogate' },
  { name: 'nesting past the intake limit', frame: () => ({ type: 'ping', x: deep(64) }), code: 'invalid_frame', reason: 'too_deep' },
  { name: 'more values than a frame can hold honestly', frame: () => ({ raw: `{"type":"ping","x":[${'0,'.repeat(100_001)}0]}` }), code: 'invalid_frame', reason: 'too_many_values' },
  { name: 'content over the message limit', frame: () => ({ type: 'send', conversationId: mine, content: 'x'.repeat(100_001) }), code: 'invalid_frame' },
  { name: 'an afterSeq too large for a number (1e400)', frame: () => ({ raw: `{"type":"subscribe","conversationId":"${bobs}","afterSeq":1e400}` }), code: 'invalid_frame' },
  { name: 'a conversation id that is no uuid', frame: () => ({ type: 'subscribe', conversationId: "' or 1=1 --" }), code: 'invalid_frame' },
  { name: "another user's conversation: subscribe", frame: () => ({ type: 'subscribe', conversationId: bobs, afterSeq: 0 }), code: 'not_found' },
  { name: "another user's conversation: send", frame: () => ({ type: 'send', conversationId: bobs, content: 'hi', clientMessageId: 'steal-1' }), code: 'not_found' },
  { name: "another user's conversation: stop", frame: () => ({ type: 'stop', conversationId: bobs }), code: 'not_found' },
  { name: "another user's conversation: typing", frame: () => ({ type: 'typing', conversationId: bobs, typing: true }), code: 'not_found' },
  { name: "a reply to another user's message", frame: () => ({ type: 'send', conversationId: mine, content: 'hi', replyToId: bobsMessage }), code: 'not_found' },
  { name: 'a second subscription to the same conversation', frame: () => ({ type: 'subscribe', conversationId: mine }), code: 'already_subscribed' },
];

let n = 0;
async function attack(c: FrameCase): Promise<Record<string, unknown>> {
  const id = `a${++n}`;
  const frame = c.frame();
  if ('raw' in frame) socket.ws.send(frame.raw as string);
  else if ('binary' in frame) socket.ws.send(frame.binary as Buffer, { binary: true });
  else socket.send({ ...frame, id });
  const errors = () => socket.frames.filter((f) => f.type === 'error');
  const before = errors().length;
  return waitFor(`the error answering "${c.name}"`, () => (('raw' in frame || 'binary' in frame) ? errors().length > before && errors().at(-1) : socket.frames.find((f) => f.id === id)));
}

describe('attacker suite: socket frames', () => {
  for (const c of CASES) {
    it(`${c.name}: an error frame (${c.code}), nothing stored or changed`, async () => {
      const before = await snapshot(around);
      const answer = await attack(c);
      expect(answer).toMatchObject({ type: 'error', error: { code: c.code, message: expect.any(String) } });
      if (c.reason) expect((answer.error as { details: { reason: string } }).details.reason).toBe(c.reason);
      expect(await snapshot(around), 'a refused frame changed stored state').toEqual(before);
      expect(socket.closed).toBeNull();
      await expectResponsive(around.healthz);
    });
  }

  it('the socket still follows its conversation after every attack', async () => {
    expect((await t.api(alice.token, 'POST', `/api/conversations/${mine}/messages`, { content: 'still here?' })).status).toBe(202);
    await waitFor('the answer', () => socket.of('answer:final', mine).length === 1);
    expect(socket.messages(mine).map((m) => m.message.content)).toEqual(['still here?', 'Echo: still here?']);
    expect(socket.messages(bobs)).toEqual([]);
  });

  it('refused upgrades change nothing: no token, a wrong token, a used ticket, another path', async () => {
    // The answer of the test before finishes its bookkeeping first.
    await settled(around);
    const before = await snapshot(around);
    for (const auth of [{}, { token: 'mos_wrong' }, { ticket: `mtk_${'A'.repeat(43)}` }]) {
      await expect(TestSocket.open(t.url, auth)).rejects.toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    }
    const other = await fetch(`${t.url}/api/conversations`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', authorization: `Bearer ${alice.token}` } }).catch((e: Error) => e);
    expect(other instanceof Error || (other as Response).status !== 101).toBe(true);
    expect(await snapshot(around)).toEqual(before);
  });

  it('a frame over the size limit closes the socket (1009); a flood closes it (1008); the server carries on', async () => {
    const big = await TestSocket.open(t.url, { token: alice.token });
    big.send({ type: 'ping', pad: 'x'.repeat(262_144) });
    await waitFor('close', () => big.closed);
    expect(big.closed?.code).toBe(1009);
    const flood = await TestSocket.open(t.url, { token: alice.token });
    for (let i = 0; i < 1000; i++) flood.send({ type: 'ping' });
    await waitFor('close', () => flood.closed);
    expect(flood.closed?.code).toBe(1008);
    await expectResponsive(around.healthz);
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  });
});
