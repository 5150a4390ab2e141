/**
 * Reply recovery: the database is the truth about what needs an answer.
 * A stored message whose job was never queued, whose job failed for good,
 * or whose conversation lease is held by a process that died is answered
 * after a sweep; a retried answer says so; an answer cut off twice gets a
 * notice instead of a third paid call. (Crashes of real processes are in
 * test/faults/.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/identity/actor.ts';
import type { MessageRow } from '../../src/conversations/conversation-store.ts';
import { ensureJob } from '../../src/jobs/job-recovery.ts';
import { REPLY_JOB } from '../../src/conversations/reply-job.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let t: TestMosaic;
let actor: Actor;

beforeAll(async () => {
  // Sweeps run when the test asks (the periodic one is off), so each case shows what one sweep does.
  t = await startTestMosaic({ providers: ['openai'], config: { conversations: { recoveryIntervalMs: 0 }, routing: { fallbackChain: [{ provider: 'openai', model: 'gpt-6-luna' }] } } });
  actor = (await t.createUser('rae')).actor;
}, 120_000);
afterAll(async () => t?.stop());

/** A user message stored as a request stores it, but with no reply job queued (as when the process died in between). */
async function storedWithoutJob(conversationId: string, content: string): Promise<string> {
  const id = randomUUID();
  await t.service.stores.conversations.append(actor, conversationId, {
    id,
    role: 'user',
    senderId: actor.userId,
    senderType: 'user',
    content,
    contentType: 'text',
    channel: 'api',
    externalId: null,
    editOf: null,
    replyToId: null,
    threadId: null,
    attachments: [],
    metadata: {},
    // Older than the few seconds recovery leaves a request to queue its own job.
    createdAt: new Date(Date.now() - 10_000),
  });
  return id;
}

async function replyTo(conversationId: string, messageId: string, timeoutMs = 30_000): Promise<MessageRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await t.service.stores.conversations.listMessages(actor, conversationId, { limit: 50 });
    const replies = rows.filter((r) => r.replyToId === messageId && (r.role === 'system' || r.metadata.final === true));
    if (replies.length) {
      expect(replies).toHaveLength(1);
      return replies[0]!;
    }
    if (Date.now() > deadline) throw new Error(`no reply to ${messageId} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const prefix = () => t.config.valkey.keyPrefix;

describe('reply recovery', () => {
  it('answers a stored message that has no job, once, even when its conversation lease is held by a dead process', async () => {
    const conv = await t.service.api.create(actor, {});
    const id = await storedWithoutJob(conv.id, 'Are you there?');
    // A lease left by a process that died: its holder has no liveness key.
    await t.core.valkey.set(`${prefix()}:lock:conv:${conv.id}`, `${randomUUID()}:lease`, 'PX', 60_000);
    await t.core.services.recoverReplies();
    const reply = await replyTo(conv.id, id);
    expect(reply.role).toBe('assistant');
    // A second sweep finds nothing to do.
    await t.core.services.recoverReplies();
    await new Promise((r) => setTimeout(r, 500));
    const rows = await t.service.stores.conversations.listMessages(actor, conv.id, { limit: 50 });
    expect(rows.filter((r) => r.replyToId === id && r.metadata.final === true)).toHaveLength(1);
  }, 60_000);

  it('queues again a message whose job failed for good under the same id', async () => {
    const conv = await t.service.api.create(actor, {});
    const id = await storedWithoutJob(conv.id, 'Second try?');
    // The job under the message's id fails at once: it names a user this database does not have.
    await t.core.services.jobs.service.enqueue(REPLY_JOB.name, { conversationId: conv.id, userId: randomUUID(), messageId: id }, { jobId: `reply-${id}` });
    const queue = await t.core.services.jobs.registry.queue(REPLY_JOB.queue);
    await expect.poll(async () => (await queue.getJob(`reply-${id}`))?.getState(), { timeout: 20_000 }).toBe('failed');
    await t.core.services.recoverReplies();
    expect((await replyTo(conv.id, id)).role).toBe('assistant');
  }, 60_000);

  it('leaves a waiting job alone, and refuses to queue again past the bound', async () => {
    const conv = await t.service.api.create(actor, {});
    const id = await storedWithoutJob(conv.id, 'Bounded?');
    const registry = t.core.services.jobs.registry;
    const payload = { conversationId: conv.id, userId: actor.userId, messageId: id };
    const never = async () => false;
    const refused = await ensureJob(registry, REPLY_JOB.name, payload, `reply-${id}`, { isDead: never, mayRequeue: never, maxCopies: 3 });
    expect(refused).toMatchObject({ outcome: 'refused', previous: 'missing' });
    const queued = await ensureJob(registry, REPLY_JOB.name, payload, `reply-${id}`, { isDead: never, mayRequeue: async () => true, maxCopies: 3 });
    expect(queued.outcome === 'requeued' || queued.outcome === 'refused' ? queued.previous : null).toBe('missing');
    await replyTo(conv.id, id);
  }, 60_000);

  it('an answer cut off once is tried again and says so; cut off twice, it gets a notice instead of a third call', async () => {
    const conv = await t.service.api.create(actor, {});
    const once = await storedWithoutJob(conv.id, 'Cut once');
    await t.core.valkey.set(`${prefix()}:answer-tries:${once}`, '1');
    const calls = t.simulators.openai.requests.length;
    await t.core.services.recoverReplies();
    const retried = await replyTo(conv.id, once);
    expect(retried.role).toBe('assistant');
    expect(retried.metadata.retry).toMatchObject({ attempt: 2, reason: expect.stringMatching(/cut off/) });
    expect(t.simulators.openai.requests.length).toBe(calls + 1);

    const twice = await storedWithoutJob(conv.id, 'Cut twice');
    await t.core.valkey.set(`${prefix()}:answer-tries:${twice}`, '2');
    await t.core.services.recoverReplies();
    const notice = await replyTo(conv.id, twice);
    expect(notice.role).toBe('system');
    expect(notice.content).toMatch(/cut off 2 times/);
    expect(t.simulators.openai.requests.length).toBe(calls + 1);
  }, 60_000);
});
