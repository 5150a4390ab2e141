/**
 * The handover of a live feed (replay, then live) under the races that an
 * end-to-end run rarely hits, made to happen on purpose: the real bus on
 * Valkey and the real store on PostgreSQL, with the store's reads held
 * until the test has published what must land in between.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Database } from '../../src/db/client.ts';
import { createLogger } from '../../src/logging.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import { ConversationBus, type ConversationEvent } from '../../src/conversations/conversation-bus.ts';
import { ConversationStore } from '../../src/conversations/conversation-store.ts';
import { toView } from '../../src/conversations/conversation-events.ts';
import { replyIdFor } from '../../src/conversations/ids.ts';
import { ConversationFeed, type FeedSink } from '../../src/live/conversation-feed.ts';
import { LiveHub } from '../../src/live/live-hub.ts';
import { createPgDatabase, redisPrefix } from '../support/databases.ts';
import { waitFor } from './support.ts';

let database: Database;
let alice: Actor;
let publisher: Redis;
let subscriber: Redis;
let bus: ConversationBus;
let hub: LiveHub;
const seen: ConversationEvent[] = [];

beforeAll(async () => {
  ({ database } = await createPgDatabase());
  const accounts = new AccountService(database.db);
  await accounts.createUser({ username: 'alice' });
  alice = actorOf((await accounts.users.findByUsername('alice'))!);
  publisher = new Redis(process.env.VALKEY_URL ?? 'redis://127.0.0.1:6379');
  subscriber = publisher.duplicate();
  bus = new ConversationBus(publisher, subscriber, redisPrefix('feed'));
  hub = new LiveHub(bus);
  await hub.start();
  // Registered after the hub: once it has an event, the hub has handed it to the feeds.
  await bus.subscribe('*', (e) => seen.push(e));
});
afterAll(async () => {
  hub?.stop();
  publisher?.disconnect();
  subscriber?.disconnect();
  await database?.close();
});

/** The real store; `hold(name)` makes that read wait until the test lets it go. */
function heldStore(): { store: ConversationStore; hold(method: 'lastSeq' | 'listMessages'): { reached: Promise<void>; release(): void } } {
  const real = new ConversationStore(database.db);
  const holds = new Map<string, { reached: () => void; gate: Promise<void> }>();
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const h = holds.get(String(prop));
        if (h) {
          holds.delete(String(prop));
          h.reached();
          await h.gate;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    hold(method) {
      let reached!: () => void;
      let release!: () => void;
      const r = new Promise<void>((res) => (reached = res));
      const gate = new Promise<void>((res) => (release = res));
      holds.set(method, { reached, gate });
      return { reached: r, release };
    },
  };
}

function collector(): { frames: Array<Record<string, unknown>>; sink: FeedSink } {
  const frames: Array<Record<string, unknown>> = [];
  return { frames, sink: { send: (f) => frames.push(JSON.parse(f.json) as Record<string, unknown>), room: () => Promise.resolve() } };
}

async function published(event: ConversationEvent): Promise<void> {
  const before = seen.length;
  await bus.publish(event);
  await waitFor('the event back from Valkey', () => seen.length > before && seen.slice(before).some((e) => JSON.stringify(e) === JSON.stringify(event)));
}

describe('a feed opening while an answer streams', () => {
  it('a delta that is both in the snapshot and in the buffer is sent once', async () => {
    const real = new ConversationStore(database.db);
    const conv = await real.create(alice);
    const { message: question } = await real.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'Q', channel: 'api' });
    const replyId = replyIdFor(question.id);
    const base = { conversationId: conv.id, replyId };
    await published({ type: 'answer:started', ...base, replyTo: question.id, agentId: null, provider: 'anthropic', model: 'm', routing: null, seq: 0 });
    await published({ type: 'answer:delta', ...base, seq: 1, step: 0, text: 'Hel' });
    await published({ type: 'answer:delta', ...base, seq: 2, step: 0, text: 'lo ' });

    const { store, hold } = heldStore();
    const out = collector();
    const feed = new ConversationFeed({ hub, store, actor: alice, conversationId: conv.id, sink: out.sink, sessionId: null, maxReplay: 100, onEnded: () => undefined, logger: createLogger('silent') });
    // Held after the feed follows the bus and before it reads the snapshot: delta 3 reaches both.
    const held = hold('lastSeq');
    const opened = feed.open(question.seq - 1, () => out.frames.push({ type: 'ready' }));
    await held.reached;
    await published({ type: 'answer:delta', ...base, seq: 3, step: 0, text: 'wor' });
    held.release();
    await opened;
    await published({ type: 'answer:delta', ...base, seq: 4, step: 0, text: 'ld' });
    expect(out.frames.map((f) => f.type)).toEqual(['message:new', 'answer:started', 'ready', 'answer:delta']);
    expect(out.frames[1]).toMatchObject({ seq: 3, text: 'Hello wor' });
    expect(out.frames[3]).toMatchObject({ seq: 4, text: 'ld' });
    feed.close();
  });

  it('an answer that ends between the snapshot and the replay is shown once, as its stored reply', async () => {
    const real = new ConversationStore(database.db);
    const conv = await real.create(alice);
    const { message: question } = await real.append(alice, conv.id, { role: 'user', senderId: alice.userId, senderType: 'user', content: 'Q', channel: 'api' });
    const replyId = replyIdFor(question.id);
    const base = { conversationId: conv.id, replyId, replyTo: question.id };
    await published({ type: 'answer:started', ...base, agentId: null, provider: 'anthropic', model: 'm', routing: null, seq: 0 });
    await published({ type: 'answer:delta', conversationId: conv.id, replyId, seq: 1, step: 0, text: 'Done.' });

    const { store, hold } = heldStore();
    const out = collector();
    const feed = new ConversationFeed({ hub, store, actor: alice, conversationId: conv.id, sink: out.sink, sessionId: null, maxReplay: 100, onEnded: () => undefined, logger: createLogger('silent') });
    const held = hold('listMessages');
    const opened = feed.open(question.seq, () => out.frames.push({ type: 'ready' }));
    await held.reached;
    // The answer is stored and published while the feed reads.
    const [reply] = await real.appendAll(alice, conv.id, [{ id: replyId, role: 'assistant', senderId: 'mosaic', senderType: 'agent', content: 'Done.', channel: 'mosaic', replyToId: question.id, metadata: { final: true } }]);
    await published({ type: 'message:new', conversationId: conv.id, message: toView(reply!) });
    await published({ type: 'answer:final', ...base, messageSeq: reply!.seq });
    held.release();
    await opened;
    expect(out.frames.map((f) => f.type)).toEqual(['message:new', 'ready']);
    expect(out.frames[0]).toMatchObject({ seq: reply!.seq, message: { id: replyId, content: 'Done.' } });
    feed.close();
  });
});
