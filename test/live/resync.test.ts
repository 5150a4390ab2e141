/**
 * A live viewer resyncs after a bus outage: events published while Valkey
 * was down are lost, so when the subscription is back every feed reads the
 * store from its last message, and the viewer receives the final answer
 * stored during the outage. Against a private redis-server the test stops
 * and starts (never the shared one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';
import { createLogger } from '../../src/logging.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import { ConversationBus } from '../../src/conversations/conversation-bus.ts';
import { ConversationStore } from '../../src/conversations/conversation-store.ts';
import { replyIdFor } from '../../src/conversations/ids.ts';
import { ConversationFeed, type FeedSink } from '../../src/live/conversation-feed.ts';
import { LiveHub } from '../../src/live/live-hub.ts';
import { createPgDatabase, redisPrefix } from '../support/databases.ts';
import { startPrivateRedis, type PrivateService } from '../support/private-services.ts';
import { waitFor } from './support.ts';

let database: Database;
let alice: Actor;
let valkey: PrivateService;
let publisher: Redis;
let subscriber: Redis;
let hub: LiveHub;

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  const accounts = new AccountService(database.db);
  await accounts.createUser({ username: 'alice' });
  alice = actorOf((await accounts.users.findByUsername('alice'))!);
  valkey = await startPrivateRedis();
  publisher = new Redis(valkey.url, { maxRetriesPerRequest: 1 });
  publisher.on('error', () => undefined);
  subscriber = publisher.duplicate();
  subscriber.on('error', () => undefined);
  hub = new LiveHub(new ConversationBus(publisher, subscriber, redisPrefix('resync')));
  await hub.start();
}, 60_000);
afterAll(async () => {
  hub?.stop();
  publisher?.disconnect();
  subscriber?.disconnect();
  await valkey?.close();
  await database?.close();
});

describe('a live viewer after a bus outage', () => {
  it('receives the final answer stored while the bus was down', async () => {
    const store = new ConversationStore(database.db);
    const conv = await store.create(alice);
    const { message: question } = await store.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'Q', channel: 'api' });
    const frames: Array<Record<string, unknown>> = [];
    const sink: FeedSink = { send: (f) => frames.push(JSON.parse(f.json) as Record<string, unknown>), room: () => Promise.resolve() };
    const feed = new ConversationFeed({ hub, store, actor: alice, conversationId: conv.id, sink, sessionId: null, maxReplay: 100, onEnded: () => undefined, logger: createLogger('silent') });
    await feed.open(question.seq, () => undefined);

    await valkey.stop();
    // Stored while the bus is down: its publish is lost.
    const replyId = replyIdFor(question.id);
    await store.append(alice, conv.id, { id: replyId, role: 'assistant', senderId: 'mosaic', senderType: 'agent', content: 'The answer', channel: 'mosaic', replyToId: question.id, metadata: { final: true } });
    expect(frames.some((f) => (f.message as { id?: string } | undefined)?.id === replyId)).toBe(false);

    await valkey.start();
    await waitFor('the stored answer to reach the viewer', () => frames.some((f) => f.type === 'message:new' && (f.message as { id?: string }).id === replyId), 30_000);
    expect(frames.filter((f) => (f.message as { id?: string } | undefined)?.id === replyId)).toHaveLength(1);
    feed.close();
  }, 60_000);
});
