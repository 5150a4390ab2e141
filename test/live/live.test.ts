/**
 * The live surfaces against two real replicas (one PostgreSQL, one
 * Valkey, the provider simulators): sockets on both replicas following one
 * conversation, resume after a disconnect, the event stream, tickets,
 * limits, revocation, slow and hostile clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/identity/actor.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { streamedText, TestEventStream, TestSocket, waitFor, type Frame, type MessageFrame } from './support.ts';

let a: TestMosaic;
let b: TestMosaic;
let erin: { token: string; actor: Actor };
const sockets: TestSocket[] = [];

const LIVE = { authRecheckMs: 300, heartbeatMs: 4000, maxSocketsPerUser: 50, maxSubscriptionsPerSocket: 3, maxFrameBytes: 65_536, framesPerSecond: 20, sendBufferBytes: 262_144, maxReplay: 50, ticketTtlSeconds: 10 };

beforeAll(async () => {
  a = await startTestMosaic({ providers: ['anthropic', 'openai', 'zai', 'ollama'], config: { live: LIVE } });
  b = await startTestMosaic({ replicaOf: a });
  erin = await a.createUser('erin');
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.terminate();
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

  it('a socket that disconnects mid-answer and resubscribes with afterSeq gets exactly what it missed, once', async () => {
    const conv = await newConversation();
    const first = await open(a);
    await first.request({ type: 'subscribe', conversationId: conv });
    a.simulators.anthropic.script({ text: 'word '.repeat(300), chunkSize: 5, frameDelayMs: 15 });
    const question = await post(b, conv, 'Hello, a long story please');
    await waitFor('some deltas', () => first.of('answer:delta').length >= 3);
    await first.close();
    const seen = first.messages(conv);
    const afterSeq = seen.at(-1)!.seq;
    const firstText = streamedText(first.frames, first.of('answer:started')[0]!.replyId as string).text;

    const again = await open(b);
    const ack = await again.request({ type: 'subscribe', conversationId: conv, afterSeq });
    expect(ack).toMatchObject({ result: { replayed: 0, lastSeq: afterSeq } });
    await waitFor('the answer to end', () => again.of('answer:final').length === 1);
    const started = again.of('answer:started');
    expect(started).toHaveLength(1);
    // Opened mid-answer: the start carries what was written so far and the number of the last delta in it.
    expect(started[0]!.seq).toBeGreaterThanOrEqual(3);
    expect((started[0]!.text as string).startsWith(firstText)).toBe(true);
    const { text, seqs } = streamedText(again.frames, started[0]!.replyId as string);
    expect(seqs).toEqual(seqs.map((_, i) => (started[0]!.seq as number) + i + 1));
    expect(again.of('answer:delta').length).toBe(seqs.length);
    const reply = replyOf(again.frames, question)!;
    expect(text).toBe(reply.message.content);
    expect(reply.message.content).toBe('word '.repeat(300));
    // Nothing the first socket had is sent again; together they hold every stored message once.
    expect(again.messages(conv).map((m) => m.seq)).toEqual([reply.seq]);
    expect([...seen, ...again.messages(conv)].map((m) => m.message.id)).toEqual((await stored(conv)).map((r) => r.id));

    // After the answer: the stored reply is replayed, and no stream is shown for it.
    const late = await open(a);
    expect(await late.request({ type: 'subscribe', conversationId: conv, afterSeq })).toMatchObject({ result: { replayed: 1, lastSeq: reply.seq } });
    expect(late.messages(conv).map((m) => m.message.id)).toEqual([reply.message.id]);
    expect(late.frames.filter((f) => f.type.startsWith('answer:'))).toEqual([]);
  });

  it('thinking streams as deltas of its own, apart from the text', async () => {
    const conv = (await a.api<{ id: string }>(erin.token, 'POST', '/api/conversations', { localOnly: true })).body.id;
    const s = await open(a);
    await s.request({ type: 'subscribe', conversationId: conv });
    a.simulators.ollama.script({ thinking: 'First I consider the question carefully.', text: 'Here is the answer.', frameDelayMs: 5 });
    const q = await post(b, conv, 'Think, then answer');
    await waitFor('the answer', () => s.of('answer:final').length === 1);
    const deltas = s.of('answer:delta');
    expect(deltas.map((d) => d.thinking ?? '').join('')).toBe('First I consider the question carefully.');
    expect(deltas.map((d) => d.text ?? '').join('')).toBe('Here is the answer.');
    expect(replyOf(s.frames, q)?.message).toMatchObject({ content: 'Here is the answer.', metadata: { provider: 'ollama' } });
  });

  it('the event stream sends the same events, and Last-Event-ID resumes after the last message seen', async () => {
    const conv = await newConversation();
    const url = `${b.url}/api/conversations/${conv}/events`;
    const stream = await TestEventStream.open(url, { authorization: `Bearer ${erin.token}` });
    await waitFor('subscribed', () => stream.of('subscribed').length === 1);
    const q1 = await post(a, conv, 'First question');
    await waitFor('the first answer', () => stream.of('answer:final').length === 1);
    const events = stream.events.map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['message:new', 'answer:started', 'answer:delta', 'answer:final']));
    const firstMessages = stream.of('message:new').map((e) => e.data as MessageFrame);
    expect(firstMessages.map((m) => m.message.replyToId ?? m.message.id)).toEqual([q1, q1]);
    expect(stream.lastEventId).toBe(String(firstMessages.at(-1)!.seq));
    stream.close();

    const q2 = await post(a, conv, 'Second question');
    await waitFor('the second answer stored', async () => (await stored(conv)).length === 4);
    const resumed = await TestEventStream.open(url, { authorization: `Bearer ${erin.token}`, 'last-event-id': stream.lastEventId! });
    await waitFor('the missed messages', () => resumed.of('message:new').length === 2);
    const missed = resumed.of('message:new').map((e) => e.data as MessageFrame);
    expect(missed.map((m) => m.message.replyToId ?? m.message.id)).toEqual([q2, q2]);
    expect(resumed.of('message:new').map((e) => e.id)).toEqual(missed.map((m) => String(m.seq)));
    expect(resumed.of('subscribed')[0]!.data).toMatchObject({ replayed: 2 });
    resumed.close();

    const bad = await fetch(url, { headers: { authorization: `Bearer ${erin.token}`, 'last-event-id': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_request');
  });

  it('send on a socket is the REST message path: stored once per clientMessageId, commands run, answered and seen everywhere', async () => {
    const conv = await newConversation();
    const [writer, reader] = [await open(a), await open(b)];
    await reader.request({ type: 'subscribe', conversationId: conv });
    const ack = await writer.request({ type: 'send', conversationId: conv, content: 'Hello from a socket', clientMessageId: 'tab-1:1' });
    expect(ack).toMatchObject({ type: 'ack', for: 'send', result: { conversationId: conv, duplicate: false, scheduled: true, command: null } });
    const messageId = (ack.result as { messageId: string }).messageId;
    // A retried send after a reconnect, on another replica or over REST, is the same message.
    expect(await reader.request({ type: 'send', conversationId: conv, content: 'Hello from a socket', clientMessageId: 'tab-1:1' })).toMatchObject({ result: { messageId, duplicate: true, scheduled: false } });
    const rest = await b.api<{ messageId: string; duplicate: boolean }>(erin.token, 'POST', `/api/conversations/${conv}/messages`, { content: 'Hello from a socket', clientMessageId: 'tab-1:1' });
    expect(rest.body).toMatchObject({ messageId, duplicate: true });
    await waitFor('the answer', () => reader.of('answer:final').length === 1);
    expect(replyOf(reader.frames, messageId)?.message.content).toBe('Echo: Hello from a socket');
    expect(reader.messages(conv).filter((m) => m.message.id === messageId)).toHaveLength(1);

    const command = await writer.request({ type: 'send', conversationId: conv, content: '/title Socket talk' });
    expect(command).toMatchObject({ result: { command: { name: 'title' }, scheduled: false } });
    await waitFor('the rename', () => reader.of('conversation:updated').some((f) => f.title === 'Socket talk'));
    const notice = reader.messages(conv).find((m) => m.message.replyToId === (command.result as { messageId: string }).messageId);
    expect(notice?.message.metadata).toMatchObject({ role: 'system', command: 'title' });

    expect(await writer.request({ type: 'stop', conversationId: conv })).toMatchObject({ type: 'ack', for: 'stop' });
    const archived = await a.api(erin.token, 'PATCH', `/api/conversations/${conv}`, { archived: true });
    expect(archived.status).toBe(200);
    expect(await writer.request({ type: 'send', conversationId: conv, content: 'Anyone?' })).toMatchObject({ type: 'error', error: { code: 'conversation_archived' } });
  });

  it('typing is relayed to the other sessions of the conversation, never back, and never stored', async () => {
    const conv = await newConversation();
    const [one, two] = [await open(a), await open(b)];
    for (const s of [one, two]) await s.request({ type: 'subscribe', conversationId: conv });
    const stream = await TestEventStream.open(`${a.url}/api/conversations/${conv}/events`, { authorization: `Bearer ${erin.token}` });
    expect(await one.request({ type: 'typing', conversationId: conv, typing: true })).toMatchObject({ type: 'ack', for: 'typing' });
    const session = one.frames[0]!.sessionId;
    await waitFor('typing on the other socket', () => two.of('typing').length === 1);
    expect(two.of('typing')[0]).toEqual({ type: 'typing', conversationId: conv, sessionId: session, typing: true });
    await waitFor('typing on the stream', () => stream.of('typing').length === 1);
    await one.request({ type: 'ping' });
    expect(one.of('typing')).toEqual([]);
    expect(await stored(conv)).toEqual([]);
    stream.close();
  });

  it('a message whose publish was lost is sent from the store when the next one shows the gap', async () => {
    const conv = await newConversation();
    const s = await open(b);
    await s.request({ type: 'subscribe', conversationId: conv });
    // Stored without being published, as when Valkey failed at that moment.
    const { message: lost } = await a.service.stores.conversations.append(erin.actor, conv, { role: 'user', senderId: erin.actor.userId, senderType: 'user', content: 'Lost in fan-out', channel: 'api', metadata: { noReply: true } });
    const next = await post(a, conv, 'Next one');
    await waitFor('both messages', () => s.messages(conv).length >= 2);

    expect(s.messages(conv).slice(0, 2).map((m) => m.message.id)).toEqual([lost.id, next]);
    await waitFor('the answer', () => s.of('answer:final').length === 1);
    const seqs = s.messages(conv).map((m) => m.seq);
    expect(seqs).toEqual((await stored(conv)).map((r) => r.seq));
  });

  it('deleting the conversation ends its subscriptions and streams, and nothing of it follows', async () => {
    const conv = await newConversation();
    const s = await open(b);
    await s.request({ type: 'subscribe', conversationId: conv });
    const stream = await TestEventStream.open(`${a.url}/api/conversations/${conv}/events`, { authorization: `Bearer ${erin.token}` });
    await waitFor('subscribed', () => stream.of('subscribed').length === 1);
    expect((await a.api(erin.token, 'DELETE', `/api/conversations/${conv}`)).status).toBe(204);
    await waitFor('the end of the subscription', () => s.of('subscription:ended').length === 1);
    expect(s.of('conversation:updated').at(-1)).toMatchObject({ change: 'deleted' });
    await waitFor('the end of the stream', () => stream.ended);
    expect(stream.events.map((e) => e.event).slice(-2)).toEqual(['conversation:updated', 'subscription:ended']);
    expect(await s.request({ type: 'subscribe', conversationId: conv })).toMatchObject({ type: 'error', error: { code: 'not_found' } });
    expect(await s.request({ type: 'unsubscribe', conversationId: conv })).toMatchObject({ type: 'error', error: { code: 'not_subscribed' } });
  });

  it('a replica that shuts down closes its sockets with 1012 and a reconnect hint; a socket on the other replica carries on', async () => {
    const conv = await newConversation();
    const [onA, onB] = [await open(a), await open(b)];
    for (const s of [onA, onB]) await s.request({ type: 'subscribe', conversationId: conv });
    await b.stop();
    await waitFor('the close', () => onB.closed);
    expect(onB.closed).toMatchObject({ code: 1012, reason: expect.stringContaining('reconnect') });
    const q = await post(a, conv, 'Still there?');
    await waitFor('the answer on the surviving replica', () => replyOf(onA.frames, q));
  });
});
