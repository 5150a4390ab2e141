/**
 * An unknown command is answered "unknown command" with the closest name and
 * /help — never sent to a model. And a reply job for a user or conversation
 * this database does not have fails where admins see it, never completes as
 * a success.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLY_JOB } from '../../src/conversations/reply-job.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

let mosaic: TestMosaic;
beforeAll(async () => {
  mosaic = await startTestMosaic({ providers: ['ollama'] });
}, 120_000);
afterAll(async () => mosaic?.stop());

interface SendResult {
  command: { name: string; text: string; data: { error: { code: string }; suggestion: string | null } } | null;
  reply: unknown;
}

describe('unknown commands', () => {
  it('answer with the closest command and /help, and reach no model', async () => {
    const conversation = await mosaic.api<{ id: string }>(mosaic.adminToken, 'POST', '/api/conversations', {});
    const send = (content: string) => mosaic.api<SendResult>(mosaic.adminToken, 'POST', `/api/conversations/${conversation.body.id}/messages?wait=true`, { content });
    const before = mosaic.simulators.ollama.chatRequests().length;

    const slash = await send('/nosuch');
    expect(slash.status).toBe(200);
    expect(slash.body.command).toMatchObject({ name: 'unknown', data: { error: { code: 'unknown_command' }, suggestion: null } });
    expect(slash.body.command!.text).toBe('Unknown command `/nosuch`. Send `/help` for the list.');
    expect(slash.body.reply).toMatchObject({ senderType: 'system' });

    const bang = await send('!modle gpt-5');
    expect(bang.body.command!.text).toBe('Unknown command `!modle`. Did you mean `!model`? Send `!help` for the list.');
    expect(bang.body.command!.data.suggestion).toBe('model');

    expect(mosaic.simulators.ollama.chatRequests().length).toBe(before);
    // A known command still works, and a plain message still reaches the model.
    expect((await send('/help')).body.command!.name).toBe('help');
  }, 60_000);
});

describe('a reply job for what this database does not have', () => {
  it('fails visibly at once (not retried, not completed)', async () => {
    const conversationId = randomUUID();
    const userId = randomUUID();
    await mosaic.core.services.jobs.service.enqueue(REPLY_JOB.name, { conversationId, userId, messageId: randomUUID() }, { jobId: `reply-${randomUUID()}` });
    const failed = async () => (await mosaic.core.services.jobs.admin.listJobs({ queue: REPLY_JOB.queue, status: 'failed', limit: 50, offset: 0 })).jobs;
    await expect.poll(async () => (await failed()).length, { timeout: 30_000 }).toBeGreaterThan(0);
    const [job] = await failed();
    expect(job!.attemptsMade).toBe(1);
    expect(job!.failedReason).toBe(`user ${userId} or conversation ${conversationId} does not exist (or the user is disabled) in this installation's database (postgres ${mosaic.core.database.location}); nothing was answered`);
    const completed = await mosaic.core.services.jobs.admin.listJobs({ queue: REPLY_JOB.queue, status: 'completed', limit: 50, offset: 0 });
    expect(completed.jobs.filter((j) => j.jobId === job!.jobId)).toEqual([]);
  }, 60_000);
});
