/**
 * The live surfaces against two real replicas (one PostgreSQL, one
 * Valkey, the provider simulators): sockets on both replicas following one
 * conversation, resume after a disconnect, the event stream, tickets,
 * limits, revocation, slow and hostile clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { streamedText, TestSocket, waitFor, type Frame, type MessageFrame } from './support.ts';

let a: TestMosaic;
let b: TestMosaic;
let erin: { token: string };
const sockets: TestSocket[] = [];

const LIVE = { authRecheckMs: 300, heartbeatMs: 1500, maxSocketsPerUser: 6, maxSubscriptionsPerSocket: 3, maxFrameBytes: 65_536, framesPerSecond: 20, sendBufferBytes: 262_144, maxReplay: 50, ticketTtlSeconds: 10 };

beforeAll(async () => {
  a = await startTestMosaic({ providers: ['anthropic', 'openai', 'zai', 'ollama'], config: { live: LIVE } });
  b = await startTestMosaic({ replicaOf: a });
  erin = await a.createUser('erin');
}, 120_000);
afterAll(async () => {
  for (const s of sockets) await s.close().catch(() => undefined);
  await b?.stop();
  await a?.stop();
});

async function open(on: TestMosaic, token = erin.token): Promise<TestSocket> {
  const s = await TestSocket.open(on.url, { token });
  sockets.push(s);
  return s;
}

async function newConversation(token = erin.token): Promise<string> {
  const res = await a.api<{ id: string }>(token, 'POST', '/api/conversations', {});
  expect(res.status).toBe(201);
  return res.body.id;
}

async function post(on: TestMosaic, conversationId: string, content: string, token = erin.token): Promise<string> {
  const res = await on.api<{ messageId: string }>(token, 'POST', `/api/conversations/${conversationId}/messages`, { content });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.messageId;
}

async function stored(conversationId: string): Promise<Array<{ id: string; seq: number; role: string; content: string; replyToId: string | null }>> {
  return (await a.api<{ items: Array<{ id: string; seq: number; role: string; content: string; replyToId: string | null }> }>(erin.token, 'GET', `/api/conversations/${conversationId}/messages?limit=500`)).body.items;
}

const replyOf = (frames: Frame[], questionId: string) => frames.find((f): f is MessageFrame => f.type === 'message:new' && (f as MessageFrame).message.replyToId === questionId && (f as MessageFrame).message.metadata.final === true);

describe('live sockets on two replicas', () => {
  it('a message sent over REST reaches a socket on each replica: the message, the start with its routing, the deltas in order, the final message equal to them', async () => {
    const conv = await newConversation();
    const [onA, onB] = [await open(a), await open(b)];
    for (const s of [onA, onB]) expect(await s.request({ type: 'subscribe', conversationId: conv })).toMatchObject({ type: 'ack', for: 'subscribe', result: { conversationId: conv, replayed: 0 } });
    a.simulators.anthropic.script({ text: 'The quick brown fox jumps over the lazy dog. '.repeat(12), chunkSize: 6, frameDelayMs: 8 });
    const question = await post(a, conv, 'Tell me about foxes, please');
    for (const s of [onA, onB]) await waitFor('the answer to end', () => s.frames.some((f) => f.type === 'answer:final'));
    for (const s of [onA, onB]) {
      const types = s.frames.filter((f) => f.type !== 'hello' && f.type !== 'ack' && f.type !== 'session:info' && f.type !== 'conversation:updated').map((f) => f.type);
      expect(types[0]).toBe('message:new');
      expect(types[1]).toBe('answer:started');
      expect(types.at(-2)).toBe('message:new');
      expect(types.at(-1)).toBe('answer:final');
      expect(types.slice(2, -2).every((t) => t === 'answer:delta')).toBe(true);
      const q = s.messages(conv)[0]!;
      expect(q.message).toMatchObject({ id: question, content: 'Tell me about foxes, please', metadata: { role: 'user', channel: 'api' } });
      const started = s.of('answer:started')[0]!;
      expect(started).toMatchObject({ replyTo: question, provider: 'anthropic', seq: 0, text: '' });
      expect((started.routing as { reason: string }).reason).toEqual(expect.any(String));
      const reply = replyOf(s.frames, question)!;
      const { text, seqs } = streamedText(s.frames, started.replyId as string);
      expect(seqs.length).toBeGreaterThan(2);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(text).toBe(reply.message.content);
      expect(reply.seq).toBeGreaterThan(q.seq);
      expect(s.of('answer:final')[0]).toMatchObject({ replyId: started.replyId, messageSeq: reply.seq });
    }
    // Stored once, with one canonical id and seq, as both sockets saw it.
    const rows = await stored(conv);
    expect(rows.map((r) => r.id)).toEqual(onA.messages(conv).map((m) => m.message.id));
    expect(onB.messages(conv).map((m) => m.seq)).toEqual(rows.map((r) => r.seq));
  });
});
