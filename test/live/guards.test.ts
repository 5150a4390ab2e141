/**
 * A well-behaved live server against hostile and careless clients, on two
 * replicas: tickets, revoked credentials, another user's conversation,
 * limits across replicas, bad frames, floods, slow consumers, dead peers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { users } from '../../src/db/schema.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { toChannelMessage } from '../../src/http/message-intake.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { RawClient, TestEventStream, TestSocket, waitFor } from './support.ts';

let a: TestMosaic;
let b: TestMosaic;
const sockets: TestSocket[] = [];
const raws: RawClient[] = [];

const LIVE = { authRecheckMs: 300, heartbeatMs: 4000, maxSocketsPerUser: 4, maxSubscriptionsPerSocket: 3, maxFrameBytes: 65_536, framesPerSecond: 20, sendBufferBytes: 262_144, maxReplay: 50, ticketTtlSeconds: 10 };

beforeAll(async () => {
  a = await startTestMosaic({ providers: ['anthropic', 'openai', 'zai', 'ollama'], config: { live: LIVE } });
  b = await startTestMosaic({ replicaOf: a });
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.terminate();
  for (const r of raws) r.destroy();
  await b?.stop();
  await a?.stop();
});

async function user(name: string): Promise<{ token: string; actor: Actor }> {
  return a.createUser(name);
}

async function open(on: TestMosaic, auth: { token?: string; ticket?: string }): Promise<TestSocket> {
  const s = await TestSocket.open(on.url, auth);
  sockets.push(s);
  return s;
}

async function refused(on: TestMosaic, auth: { token?: string; ticket?: string }): Promise<{ status: number; body: { error: { code: string; message: string } } }> {
  return TestSocket.open(on.url, auth).then(
    () => {
      throw new Error('the upgrade was accepted');
    },
    (err: { status: number; body: { error: { code: string; message: string } } }) => err,
  );
}

async function conversation(token: string): Promise<string> {
  return (await a.api<{ id: string }>(token, 'POST', '/api/conversations', {})).body.id;
}

async function ticket(on: TestMosaic, token: string): Promise<string> {
  const res = await on.api<{ ticket: string; expiresInSeconds: number }>(token, 'POST', '/api/socket/ticket');
  expect(res.status).toBe(201);
  expect(res.body.expiresInSeconds).toBe(LIVE.ticketTtlSeconds);
  return res.body.ticket;
}

describe('who may open a live connection', () => {
  it('a bearer token or a single-use ticket; nothing else, and refusals in the one error shape', async () => {
    const ida = await user('ida');
    expect(await refused(a, {})).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(await refused(a, { token: 'mos_nothing' })).toMatchObject({ status: 401, body: { error: { code: 'unauthorized', message: expect.stringContaining('revoked') } } });
    // A ticket is bought with a token (never with a ticket), works once, on any replica.
    const noAuth = await fetch(`${a.url}/api/socket/ticket`, { method: 'POST' });
    expect(noAuth.status).toBe(401);
    expect(((await noAuth.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const t = await ticket(a, ida.token);
    expect(t).toMatch(/^mtk_[\w-]{43}$/);
    const byTicket = await open(b, { ticket: t });
    expect(byTicket.frames[0]).toMatchObject({ type: 'hello', protocol: '1.0.0', user: { id: ida.actor.userId, username: 'ida' } });
    expect(await refused(a, { ticket: t })).toMatchObject({ status: 401, body: { error: { message: expect.stringContaining('used or expired') } } });
    expect((await a.api(t, 'POST', '/api/socket/ticket')).status).toBe(401);
    // Only its hash is in Valkey, for the ticket's lifetime.
    const keys = await a.core.valkey.keys(`${a.config.valkey.keyPrefix}:ephemeral:live:ticket:*`);
    const another = await ticket(a, ida.token);
    const after = await a.core.valkey.keys(`${a.config.valkey.keyPrefix}:ephemeral:live:ticket:*`);
    const added = after.filter((k) => !keys.includes(k));
    expect(added).toHaveLength(1);
    expect(added[0]).not.toContain(another.slice(4));
    const ttl = await a.core.valkey.ttl(added[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LIVE.ticketTtlSeconds);
    // The event stream takes a ticket too (EventSource cannot send headers).
    const conv = await conversation(ida.token);
    const stream = await TestEventStream.open(`${a.url}/api/conversations/${conv}/events?ticket=${another}`, {});
    await waitFor('subscribed', () => stream.of('subscribed').length === 1);
    stream.close();
    const noStream = await fetch(`${a.url}/api/conversations/${conv}/events`);
    expect(noStream.status).toBe(401);
    // Other paths are no WebSocket.
    const other = await fetch(`${a.url}/api/elsewhere`, { headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } }).catch((e: Error) => e);
    expect(other instanceof Error ? other.message : (other as Response).status).not.toBe(101);
  });

  it('a revoked token, or a disabled or deleted user, has its sockets and streams closed within seconds', async () => {
    const jo = await user('jo');
    const extra = await a.api<{ token: string; id: string }>(jo.token, 'POST', '/api/tokens', { name: 'live' });
    const viaHeader = await open(a, { token: extra.body.token });
    const viaTicket = await open(b, { ticket: await ticket(b, extra.body.token) });
    const conv = await conversation(jo.token);
    const stream = await TestEventStream.open(`${b.url}/api/conversations/${conv}/events`, { authorization: `Bearer ${extra.body.token}` });
    const unaffected = await open(a, { token: jo.token });
    expect((await a.api(jo.token, 'DELETE', `/api/tokens/${extra.body.id}`)).status).toBe(204);
    for (const s of [viaHeader, viaTicket]) await waitFor('the socket to be closed', () => s.closed);
    for (const s of [viaHeader, viaTicket]) expect(s.closed).toMatchObject({ code: 4001, reason: expect.stringContaining('revoked') });
    await waitFor('the stream to end', () => stream.ended);
    expect(stream.of('error').at(-1)?.data).toMatchObject({ error: { code: 'unauthorized' } });
    expect(unaffected.closed).toBeNull();
    expect(await unaffected.request({ type: 'ping' })).toMatchObject({ type: 'pong' });

    // Disabled (no API for it yet: the column is what every check reads), then deleted.
    await a.core.database.db.update(users).set({ disabledAt: new Date() }).where(eq(users.id, jo.actor.userId));
    await waitFor('the disabled user to be cut', () => unaffected.closed);
    expect(unaffected.closed?.code).toBe(4001);
    const kim = await user('kim');
    const kims = await open(b, { token: kim.token });
    await a.core.database.db.delete(users).where(eq(users.id, kim.actor.userId));
    await waitFor('the deleted user to be cut', () => kims.closed);
    expect(kims.closed?.code).toBe(4001);
  });
});

describe('another user', () => {
  it("gets not_found for someone else's conversation, on every frame and on the event stream, and sees none of its events", async () => {
    const owner = await user('lea');
    const other = await user('max');
    const conv = await conversation(owner.token);
    const mine = await open(a, { token: owner.token });
    await mine.request({ type: 'subscribe', conversationId: conv });
    const spy = await open(b, { token: other.token });
    for (const frame of [
      { type: 'subscribe', conversationId: conv },
      { type: 'subscribe', conversationId: conv, afterSeq: 0 },
      { type: 'send', conversationId: conv, content: 'hi' },
      { type: 'stop', conversationId: conv },
      { type: 'typing', conversationId: conv, typing: true },
      { type: 'unsubscribe', conversationId: conv },
    ]) {
      const answer = await spy.request(frame);
      expect(answer, frame.type).toMatchObject({ type: 'error', error: { code: frame.type === 'unsubscribe' ? 'not_subscribed' : 'not_found' } });
    }
    const sse = await fetch(`${b.url}/api/conversations/${conv}/events`, { headers: { authorization: `Bearer ${other.token}` } });
    expect(sse.status).toBe(404);
    expect(await sse.json()).toEqual({ error: { code: 'not_found', message: 'conversation not found' } });
    expect((await a.api(owner.token, 'POST', `/api/conversations/${conv}/messages`, { content: 'Private question' })).status).toBe(202);
    await waitFor("the owner's answer", () => mine.of('answer:final').length === 1);
    expect(spy.frames.filter((f) => f.conversationId === conv)).toEqual([]);
    expect(JSON.stringify(spy.frames)).not.toContain('Private question');
  });
});

describe('limits', () => {
  it('sockets per user hold across replicas; subscriptions per socket; one subscription per conversation', async () => {
    const ned = await user('ned');
    const held = [await open(a, { token: ned.token }), await open(b, { token: ned.token }), await open(a, { token: ned.token })];
    const stream = await TestEventStream.open(`${b.url}/api/conversations/${await conversation(ned.token)}/events`, { authorization: `Bearer ${ned.token}` });
    expect(await refused(b, { token: ned.token })).toMatchObject({ status: 429, body: { error: { code: 'too_many_connections' } } });
    const fifth = await fetch(`${a.url}/api/conversations/${await conversation(ned.token)}/events`, { headers: { authorization: `Bearer ${ned.token}` } });
    expect(fifth.status).toBe(429);
    stream.close();
    await waitFor('a place to free up', async () => (await TestSocket.open(b.url, { token: ned.token }).then((s) => (sockets.push(s), s)).catch(() => null)) ?? null);

    const s = held[0]!;
    const convs = [await conversation(ned.token), await conversation(ned.token), await conversation(ned.token), await conversation(ned.token)];
    for (const c of convs.slice(0, 3)) expect(await s.request({ type: 'subscribe', conversationId: c })).toMatchObject({ type: 'ack' });
    expect(await s.request({ type: 'subscribe', conversationId: convs[3] })).toMatchObject({ type: 'error', error: { code: 'too_many_subscriptions' } });
    expect(await s.request({ type: 'subscribe', conversationId: convs[0] })).toMatchObject({ type: 'error', error: { code: 'already_subscribed' } });
    expect(await s.request({ type: 'unsubscribe', conversationId: convs[0] })).toMatchObject({ type: 'ack', for: 'unsubscribe' });
    expect(await s.request({ type: 'subscribe', conversationId: convs[3] })).toMatchObject({ type: 'ack' });
  });

  it('a subscribe further behind than maxReplay is refused with where to load history from', async () => {
    const oz = await user('oz');
    const conv = await conversation(oz.token);
    for (let i = 0; i < LIVE.maxReplay + 1; i++) await a.service.stores.conversations.append(oz.actor, conv, { role: 'user', senderId: oz.actor.userId, senderType: 'user', content: `m${i}`, channel: 'api', metadata: { noReply: true } });
    const s = await open(a, { token: oz.token });
    expect(await s.request({ type: 'subscribe', conversationId: conv, afterSeq: 0 })).toMatchObject({ type: 'error', error: { code: 'replay_too_large', message: expect.stringContaining(`/api/conversations/${conv}/messages?after=0`) } });
    expect(await s.request({ type: 'subscribe', conversationId: conv })).toMatchObject({ type: 'ack', result: { replayed: 0 } });
  });
});

describe('hostile and careless clients', () => {
  it('bad frames get an error answering them; the socket and the server carry on', async () => {
    const pat = await user('pat');
    const s = await open(a, { token: pat.token });
    const last = () => s.frames.at(-1)!;
    s.send({ type: 'ping', id: 'warm' });
    await waitFor('pong', () => s.frames.some((f) => f.type === 'pong'));
    s.ws.send('this is not json');
    await waitFor('an error', () => last().type === 'error' && last());
    expect(last()).toMatchObject({ id: null, error: { code: 'invalid_json' } });
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await waitFor('an error', () => (last().error as { code: string } | undefined)?.code === 'binary_frame');
    expect(await s.request({ type: 'explode' })).toMatchObject({ type: 'error', error: { code: 'unknown_frame', message: expect.stringContaining('subscribe') } });
    expect(await s.request({ type: 'subscribe', conversationId: 'nope', afterSeq: -1 })).toMatchObject({ type: 'error', error: { code: 'invalid_frame', message: expect.stringMatching(/conversationId.*afterSeq/s) } });
    expect(await s.request({ type: 'send', conversationId: await conversation(pat.token), content: '   ' })).toMatchObject({ type: 'error', error: { code: 'invalid_frame', message: expect.stringContaining('needs content') } });
    expect(await s.request({ type: 'ping', extra: { deep: [[[[[]]]]] } })).toMatchObject({ type: 'error', error: { code: 'invalid_frame' } });
    // The intake walk REST bodies pass: text PostgreSQL cannot store, nesting no message needs.
    const conv = await conversation(pat.token);
    expect(await s.request({ type: 'send', conversationId: conv, content: 'hi\u0000there' })).toMatchObject({ type: 'error', error: { code: 'invalid_frame', details: { field: 'frame.content', reason: 'nul' } } });
    s.ws.send(`{"type":"send","id":"lone","conversationId":"${conv}","content":"a\\ud800b"}`);
    await waitFor('an error', () => s.frames.find((f) => f.id === 'lone'));
    expect(s.frames.find((f) => f.id === 'lone')).toMatchObject({ type: 'error', error: { details: { reason: 'lone_surrogate' } } });
    expect(await s.request({ type: 'typing', conversationId: conv, typing: true, x: JSON.parse(`{"a":${'['.repeat(40)}${']'.repeat(40)}}`) })).toMatchObject({ type: 'error', error: { details: { reason: 'too_deep' } } });
    expect((await a.api<{ items: unknown[] }>(pat.token, 'GET', `/api/conversations/${conv}/messages`)).body.items).toEqual([]);
    // Nested past what the parser takes, or not an object: an error either way, never a crash.
    const errors = () => s.frames.filter((f) => f.type === 'error').length;
    const before = errors();
    s.ws.send(`${'['.repeat(30_000)}${']'.repeat(30_000)}`);
    s.ws.send(JSON.stringify([{ type: 'ping' }]));
    await waitFor('two errors', () => errors() === before + 2);
    expect(s.frames.slice(-2).map((f) => (f.error as { code: string }).code)).toEqual([expect.stringMatching(/^invalid_(json|frame)$/), 'invalid_frame']);
    expect(s.closed).toBeNull();

    // Too big: the socket is closed with 1009, the server keeps serving.
    const big = await open(b, { token: pat.token });
    big.send({ type: 'send', conversationId: await conversation(pat.token), content: 'x'.repeat(LIVE.maxFrameBytes) });
    await waitFor('close', () => big.closed);
    expect(big.closed?.code).toBe(1009);

    // A flood: refused frames, then the socket is closed; the others are untouched.
    const flood = await open(b, { token: pat.token });
    for (let i = 0; i < 400; i++) flood.send({ type: 'ping', id: `f${i}` });
    await waitFor('close', () => flood.closed);
    expect(flood.closed).toMatchObject({ code: 1008, reason: expect.stringContaining('flood') });
    expect(flood.frames.some((f) => f.type === 'error' && (f.error as { code: string }).code === 'rate_limited')).toBe(true);
    expect(await s.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('a slow consumer is cut with a reason; the other socket of the conversation gets everything', async () => {
    const quinn = await user('quinn');
    const conv = await conversation(quinn.token);
    const healthy = await open(a, { token: quinn.token });
    await healthy.request({ type: 'subscribe', conversationId: conv });
    const slow = await RawClient.open(b.url, quinn.token);
    raws.push(slow);
    slow.send({ type: 'subscribe', conversationId: conv });
    await waitFor('the subscription', () => slow.saw('"for":"subscribe"'));
    slow.stopReading();
    // Messages stored without an answer (as in a group room where the agent was not addressed): ~100 kB each,
    // more than the kernel's socket buffers (~4 MB here) plus the send buffer.
    // Fast, in batches: a peer that reads nothing also answers no ping, and would be dropped as dead first.
    const sent: string[] = [];
    await waitFor('the slow socket to be cut', async () => {
      if (b.core.live.stats(quinn.actor.userId).closing > 0) return true;
      const batch = Array.from({ length: 8 }, (_, i) => toChannelMessage(quinn.actor, conv, { content: `${sent.length + i} ${'y'.repeat(99_000)}`, contentType: 'text' }));
      for (const msg of batch) sent.push(msg.id);
      await Promise.all(batch.map((msg) => a.service.inbound.receive(quinn.actor, conv, msg, 'api', { answer: false })));
      return sent.length > 200 ? new Error('never cut') : false;
    });
    expect(sent.length).toBeLessThan(200);
    slow.resumeReading();
    await waitFor('the close to arrive', () => slow.closeFrame());
    expect(slow.closeFrame()).toMatchObject({ code: 1008, reason: expect.stringContaining('slow consumer') });
    await waitFor('every message on the healthy socket', () => healthy.messages(conv).length === sent.length);
    expect(healthy.messages(conv).map((m) => m.message.id).sort()).toEqual([...sent].sort());
    const seqs = healthy.messages(conv).map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(healthy.closed).toBeNull();
    expect(await healthy.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
  });

  it('a replay larger than the send buffer goes out at the client\'s pace instead of cutting it', async () => {
    const uma = await user('uma');
    const conv = await conversation(uma.token);
    // ~5 MB of stored messages: more than the kernel's buffers and many times the send buffer.
    const ids: string[] = [];
    for (let i = 0; i < LIVE.maxReplay; i++) {
      const { message } = await a.service.stores.conversations.append(uma.actor, conv, { role: 'user', senderId: uma.actor.userId, senderType: 'user', content: `${i} ${'z'.repeat(99_000)}`, channel: 'api', metadata: { noReply: true } });
      ids.push(message.id);
    }
    const client = await RawClient.open(b.url, uma.token);
    raws.push(client);
    client.stopReading();
    client.send({ type: 'subscribe', id: 'replay', conversationId: conv, afterSeq: 0 });
    // The replay fills what the connection holds, then waits for the client (sent all at once, it would be cut).
    await waitFor('the send buffer to fill', () => b.core.live.stats(uma.actor.userId).bufferedBytes > LIVE.sendBufferBytes / 2 || b.core.live.stats(uma.actor.userId).closing > 0);
    expect(b.core.live.stats(uma.actor.userId).closing).toBe(0);
    // Live events meanwhile wait their turn behind the replay.
    const live = toChannelMessage(uma.actor, conv, { content: 'said during the replay', contentType: 'text' });
    await a.service.inbound.receive(uma.actor, conv, live, 'api', { answer: false });
    client.resumeReading();
    await waitFor('the ack after the replay', () => client.saw('"for":"subscribe"'), 60_000);
    await waitFor('the live message after it', () => client.saw('said during the replay'));
    expect(client.closeFrame()).toBeNull();
    expect(b.core.live.stats(uma.actor.userId)).toMatchObject({ sockets: 1, closing: 0 });
  });

  it('a peer that stops answering pings is dropped', async () => {
    const rae = await user('rae');
    const s = await RawClient.open(a.url, rae.token);
    raws.push(s);
    expect(a.core.live.stats(rae.actor.userId).sockets).toBe(1);
    s.stopReading();
    await waitFor('the dead peer to be dropped', () => a.core.live.stats(rae.actor.userId).sockets + a.core.live.stats(rae.actor.userId).closing === 0, 30_000);
  });

  it('upgrades count against the API rate limit like any request of the client', async () => {
    const vic = await user('vic');
    // A replica with a tiny limit (counts are shared through Valkey): spend it, then upgrade.
    const strict = await startTestMosaic({ replicaOf: a, config: { http: { rateLimitPerMinute: 5 } } });
    try {
      await waitFor('the limit to be spent', async () => (await strict.api(vic.token, 'GET', '/api/me')).status === 429);
      expect(await refused(strict, { token: vic.token })).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
      expect(await refused(strict, {})).toMatchObject({ status: 429 });
    } finally {
      await strict.stop();
    }
    // The others, with their own limit, are not affected.
    expect((await open(a, { token: vic.token })).frames[0]).toMatchObject({ type: 'hello' });
  });
});
