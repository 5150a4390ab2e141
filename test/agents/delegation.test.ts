/**
 * Delegation in the core, without Matrix: the real REST API, PostgreSQL,
 * Redis, reply workers and routing, with the provider simulators playing
 * each agent's model (by the marker in its system prompt).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { agentDelegations, usageRecords } from '../../src/db/schema.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';
import { allChats, bracketed, hasToolResult, scriptAgents, systemOf } from './delegation-support.ts';

interface Agent {
  id: string;
  name: string;
  delegatesTo: string[];
}
interface Message {
  role: string;
  content: string;
  senderId: string;
  metadata: Record<string, unknown> | null;
}
interface Reply {
  reply: { role: string; content: string; provider: string | null } | null;
}

let t: TestMosaic;

beforeAll(async () => {
  t = await startTestMosaic({ config: { agents: { delegation: { pairLimit: 3, pairWindowSeconds: 60, maxTurnsPerExchange: 4, maxDepth: 2, queueAttempts: 4, queueBackoffMs: 300 } } } });
}, 120_000);
afterAll(async () => t?.stop());
beforeEach(() => {
  for (const sim of Object.values(t.simulators)) sim.reset();
});

async function agent(token: string, body: Record<string, unknown>): Promise<Agent> {
  const res = await t.api<Agent>(token, 'POST', '/api/agents', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function conversationWith(token: string, agentName: string): Promise<string> {
  const res = await t.api<{ id: string }>(token, 'POST', '/api/conversations', { agent: agentName });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function say(token: string, id: string, content: string): Promise<Reply> {
  const res = await t.api<Reply>(token, 'POST', `/api/conversations/${id}/messages?wait=true`, { content });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function messages(token: string, id: string): Promise<Message[]> {
  const res = await t.api<{ items: Message[] }>(token, 'GET', `/api/conversations/${id}/messages`);
  expect(res.status).toBe(200);
  return res.body.items;
}

/** Waits for a condition (never for a fixed time): polls until `check` returns a value. */
async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const TEXT = 'Dogs were domesticated from wolves. They are loyal, and they have lived beside people for at least 15,000 years.';

describe('agent config: delegatesTo', () => {
  it('is validated: names resolve to ids, unknown agents, itself and a person\'s agent under a system agent are refused with a clear 400', async () => {
    const { token } = await t.createUser('vera');
    const helper = await agent(token, { name: 'helper', systemPrompt: 'You help.' });
    const boss = await agent(token, { name: 'boss', systemPrompt: 'You lead.', delegatesTo: ['helper'] });
    expect(boss.delegatesTo).toEqual([helper.id]);

    const unknown = await t.api<{ error: { message: string } }>(token, 'POST', '/api/agents', { name: 'x1', systemPrompt: 'p', delegatesTo: ['nobody'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/delegatesTo: no agent "nobody" among the system agents and your own; available: .*helper/);

    const self = await t.api<{ error: { message: string } }>(token, 'PATCH', `/api/agents/${boss.id}`, { delegatesTo: ['boss'] });
    expect(self.status).toBe(400);
    expect(self.body.error.message).toContain('an agent cannot delegate to itself');

    const tooMany = await t.api(token, 'POST', '/api/agents', { name: 'x2', systemPrompt: 'p', delegatesTo: Array.from({ length: 21 }, () => 'helper') });
    expect(tooMany.status).toBe(400);
    const notStrings = await t.api(token, 'POST', '/api/agents', { name: 'x3', systemPrompt: 'p', delegatesTo: [{ id: helper.id }] });
    expect(notStrings.status).toBe(400);

    // A system agent runs for everyone: it may not hand work to one person's own agent.
    const system = await t.api<{ error: { message: string } }>(t.adminToken, 'POST', '/api/agents', { name: 'sys-boss', systemPrompt: 'p', system: true, delegatesTo: [helper.id] });
    expect(system.status).toBe(400);
    expect(system.body.error.message).toContain('a system agent cannot delegate to a person\'s own agent');

    const cleared = await t.api<Agent>(token, 'PATCH', `/api/agents/${boss.id}`, { delegatesTo: [] });
    expect(cleared.body.delegatesTo).toEqual([]);
  });

  it('only agents with delegatesTo are offered delegate and ask_agent, listing the agents they may name', async () => {
    const { token } = await t.createUser('wendy');
    await agent(token, { name: 'plain', systemPrompt: 'PLAIN-AGENT' });
    await agent(token, { name: 'writer', systemPrompt: 'WRITER-AGENT', description: 'Writes summaries.' });
    await agent(token, { name: 'chief', systemPrompt: 'CHIEF-AGENT', delegatesTo: ['writer'] });
    await say(token, await conversationWith(token, 'plain'), 'Hello there, how are you?');
    await say(token, await conversationWith(token, 'chief'), 'Hello there, how are you?');
    const toolNames = (marker: string) => {
      const req = allChats(t).find((c) => systemOf(c.request).includes(marker))!.request;
      return JSON.stringify((req.body as { tools?: unknown }).tools ?? []);
    };
    expect(toolNames('PLAIN-AGENT')).not.toContain('delegate');
    const offered = toolNames('CHIEF-AGENT');
    expect(offered).toContain('"delegate"');
    expect(offered).toContain('"ask_agent"');
    expect(offered).toContain('writer: Writes summaries.');
  });
});

describe('delegation', () => {
  it('A delegates a summary to B: B runs with its own prompt, A answers with B\'s result, usage and the record show both', async () => {
    const { token } = await t.createUser('alice');
    const summarizer = await agent(token, { name: 'summarizer', systemPrompt: 'You are SUMMARIZER-B. Summarise faithfully.' });
    const lead = await agent(token, { name: 'lead', systemPrompt: 'You are LEAD-A. Delegate summaries.', delegatesTo: ['summarizer'] });
    scriptAgents(t, {
      'LEAD-A': ({ body }) =>
        hasToolResult(body) ? { text: `Here is the summary from my colleague: ${bracketed(body) ?? 'MISSING'}` } : { toolCall: { name: 'delegate', arguments: { agent: 'summarizer', task: 'Summarise this text in one line.', context: TEXT } } },
      'SUMMARIZER-B': () => ({ text: 'Summary: [[dogs are loyal former wolves]]' }),
    });
    const id = await conversationWith(token, 'lead');
    const answer = await say(token, id, 'Please get me a one-line summary of the text about dogs.');
    expect(answer.reply?.role).toBe('assistant');
    expect(answer.reply?.content).toBe('Here is the summary from my colleague: dogs are loyal former wolves');

    // B's request to its model carries B's own prompt and the task with its context, not A's prompt or the person's conversation.
    const bCalls = allChats(t).filter((c) => systemOf(c.request).includes('SUMMARIZER-B'));
    expect(bCalls).toHaveLength(1);
    const bBody = JSON.stringify(bCalls[0]!.request.body);
    expect(bBody).not.toContain('LEAD-A');
    expect(bBody).toContain('Summarise this text in one line.');
    expect(bBody).toContain('domesticated from wolves');
    expect(bBody).not.toContain('one-line summary of the text about dogs');
    // A saw B's result as its tool's result.
    const aSecond = allChats(t).filter((c) => systemOf(c.request).includes('LEAD-A'))[1]!;
    expect(JSON.stringify(aSecond.request.body)).toContain('dogs are loyal former wolves');

    // The turn is stored with the tool step and B's result.
    const stored = await messages(token, id);
    expect(stored.filter((m) => m.role === 'tool').map((m) => m.content).join()).toContain('dogs are loyal former wolves');

    // Usage: both agents' calls are the person's, by agent.
    const usage = await t.api<{ items: Array<{ key: string | null; inputTokens: number; outputTokens: number; costUsd: number }> }>(token, 'GET', '/api/usage?groupBy=agent');
    const byAgent = new Map(usage.body.items.map((i) => [i.key, i]));
    expect(byAgent.get(lead.id)?.outputTokens).toBeGreaterThan(0);
    expect(byAgent.get(summarizer.id)?.outputTokens).toBeGreaterThan(0);

    const [record] = await t.core.database.db.select().from(agentDelegations).where(eq(agentDelegations.conversationId, id));
    expect(record).toMatchObject({ fromAgentId: lead.id, toAgentId: summarizer.id, kind: 'delegate', depth: 1, status: 'completed', result: 'Summary: [[dogs are loyal former wolves]]' });
    expect(record!.provider).toBeTruthy();
    expect(record!.inputTokens).toBeGreaterThan(0);
    expect((record!.routing as { outcome: string }).outcome).toBe('routed');
  });

  it("a team member's question in a shared conversation: the delegated agent's calls are theirs too, with the team's id", async () => {
    const owner = await t.createUser('erin');
    const member = await t.createUser('frank');
    await agent(owner.token, { name: 'summarizer', systemPrompt: 'You are SUMMARIZER-E. Summarise faithfully.' });
    await agent(owner.token, { name: 'lead', systemPrompt: 'You are LEAD-E. Delegate summaries.', delegatesTo: ['summarizer'] });
    scriptAgents(t, {
      'LEAD-E': ({ body }) =>
        hasToolResult(body) ? { text: `Summary: ${bracketed(body) ?? 'MISSING'}` } : { toolCall: { name: 'delegate', arguments: { agent: 'summarizer', task: 'Summarise this text in one line.', context: TEXT } } },
      'SUMMARIZER-E': () => ({ text: '[[dogs are loyal former wolves]]' }),
    });
    const team = (await t.api<{ id: string }>(owner.token, 'POST', '/api/teams', { slug: 'kennel' })).body.id;
    await t.api(owner.token, 'POST', `/api/teams/${team}/members`, { username: 'frank' });
    const id = await conversationWith(owner.token, 'lead');
    await t.api(owner.token, 'POST', `/api/conversations/${id}/share`, { teamId: team });
    expect((await say(member.token, id, 'A one-line summary of the text about dogs, please.')).reply?.content).toBe('Summary: dogs are loyal former wolves');
    const rows = await t.core.database.db.select().from(usageRecords).where(eq(usageRecords.conversationId, id));
    expect(new Set(rows.map((r) => r.purpose))).toEqual(new Set(['reply', 'delegation']));
    expect(rows.every((r) => r.userId === member.actor.userId && r.teamId === team)).toBe(true);
  });

  it('ask_agent puts a question to B, which answers without tools', async () => {
    const { token } = await t.createUser('amos');
    await agent(token, { name: 'expert', systemPrompt: 'EXPERT-B answers.', tools: ['memory_search'] });
    await agent(token, { name: 'front', systemPrompt: 'FRONT-A asks.', delegatesTo: ['expert'] });
    scriptAgents(t, {
      'FRONT-A': ({ body }) => (hasToolResult(body) ? { text: `Expert says ${bracketed(body)}` } : { toolCall: { name: 'ask_agent', arguments: { agent: 'expert', question: 'How old is the oldest dog breed?' } } }),
      'EXPERT-B': () => ({ text: 'About [[4000 years]].' }),
    });
    const reply = await say(token, await conversationWith(token, 'front'), 'How old is the oldest dog breed?');
    expect(reply.reply?.content).toBe('Expert says 4000 years');
    const bReq = allChats(t).find((c) => systemOf(c.request).includes('EXPERT-B'))!.request;
    expect((bReq.body as { tools?: unknown[] }).tools ?? []).toHaveLength(0);
    expect(JSON.stringify(bReq.body)).toContain('asks you');
  });

  it('an A→B→A loop is stopped with a notice in the person\'s conversation; A still answers', async () => {
    const { token } = await t.createUser('bruno');
    const ping = await agent(token, { name: 'ping', systemPrompt: 'PING-A' });
    const pong = await agent(token, { name: 'pong', systemPrompt: 'PONG-B', delegatesTo: ['ping'] });
    expect((await t.api(token, 'PATCH', `/api/agents/${ping.id}`, { delegatesTo: ['pong'] })).status).toBe(200);
    scriptAgents(t, {
      'PING-A': ({ body }) => (hasToolResult(body) ? { text: 'ping finished' } : { toolCall: { name: 'delegate', arguments: { agent: 'pong', task: 'Work on it.' } } }),
      'PONG-B': ({ body }) => (hasToolResult(body) ? { text: 'pong gave up delegating' } : { toolCall: { name: 'delegate', arguments: { agent: 'ping', task: 'Back to you.' } } }),
    });
    const id = await conversationWith(token, 'ping');
    const reply = await say(token, id, 'Start the ping pong game please.');
    expect(reply.reply?.content).toBe('ping finished');
    const stored = await messages(token, id);
    const notice = stored.find((m) => m.role === 'system' && m.content.includes('would loop'));
    expect(notice?.content).toBe('⚠️ Delegation stopped: ping → pong → ping would loop (ping is already working on this request). pong carries on without it.');
    expect(notice?.metadata).toMatchObject({ delegation: { code: 'delegation_cycle' } });
    // B saw the refusal as its tool's result, and its answer went back to A.
    const pongSecond = allChats(t).filter((c) => systemOf(c.request).includes('PONG-B'))[1]!;
    expect(JSON.stringify(pongSecond.request.body)).toContain('would loop');
    const rows = await t.core.database.db.select().from(agentDelegations).where(eq(agentDelegations.conversationId, id));
    expect(rows.map((r) => [r.fromAgentId, r.toAgentId, r.status]).sort()).toEqual(
      [
        [ping.id, pong.id, 'completed'],
        [pong.id, ping.id, 'refused'],
      ].sort(),
    );
    // Ping's model was called twice (delegate, then answer): the loop made no third call.
    expect(allChats(t).filter((c) => systemOf(c.request).includes('PING-A'))).toHaveLength(2);
  });

  it('depth, turns per exchange and the per-pair rate limit each refuse with their own notice', async () => {
    const { token } = await t.createUser('carla');
    await agent(token, { name: 'c3', systemPrompt: 'C3-AGENT' });
    await agent(token, { name: 'c2', systemPrompt: 'C2-AGENT', delegatesTo: ['c3'] });
    await agent(token, { name: 'c1', systemPrompt: 'C1-AGENT', delegatesTo: ['c2'] });
    await agent(token, { name: 'c0', systemPrompt: 'C0-AGENT', delegatesTo: ['c1'] });
    // Depth: c0 → c1 → c2 is the limit (2); c2 → c3 is one too deep.
    const down = (next: string, done: string) => ({ body }: { body: string }) => (hasToolResult(body) ? { text: done } : { toolCall: { name: 'delegate', arguments: { agent: next, task: `Go down to ${next}.` } } });
    scriptAgents(t, { 'C0-AGENT': down('c1', 'c0 done'), 'C1-AGENT': down('c2', 'c1 done'), 'C2-AGENT': down('c3', 'c2 done'), 'C3-AGENT': () => ({ text: 'c3 reached' }) });
    const deep = await conversationWith(token, 'c0');
    expect((await say(token, deep, 'Go as deep as you can.')).reply?.content).toBe('c0 done');
    expect((await messages(token, deep)).find((m) => m.role === 'system')?.content).toBe('⚠️ Delegation stopped: c0 → c1 → c2 → c3 is 3 hand-overs deep, past the limit of 2 (agents.delegation.maxDepth).');
    expect(allChats(t).some((c) => systemOf(c.request).includes('C3-AGENT'))).toBe(false);

    // Turns: one answer delegating again and again stops at 4; the pair limit (3 per 60 s) comes first for one pair.
    await agent(token, { name: 'worker', systemPrompt: 'WORKER-AGENT' });
    await agent(token, { name: 'worker2', systemPrompt: 'WORKER2-AGENT' });
    await agent(token, { name: 'busy', systemPrompt: 'BUSY-AGENT', delegatesTo: ['worker', 'worker2'] });
    let n = 0;
    scriptAgents(t, {
      'BUSY-AGENT': () => {
        n += 1;
        return n <= 7 ? { toolCall: { name: 'delegate', arguments: { agent: n <= 4 ? 'worker' : 'worker2', task: `Task ${n}.` }, id: `call_task_${n}` } } : { text: 'busy done' };
      },
      'WORKER-AGENT': () => ({ text: 'worked' }),
      'WORKER2-AGENT': () => ({ text: 'worked too' }),
    });
    const busy = await conversationWith(token, 'busy');
    expect((await say(token, busy, 'Do lots of tasks for me.')).reply?.content).toBe('busy done');
    const notices = (await messages(token, busy)).filter((m) => m.role === 'system').map((m) => m.content);
    expect(notices).toHaveLength(3);
    expect(notices[0]).toMatch(/^⚠️ Delegation stopped: busy has handed 3 tasks to worker within 60 s, the limit for one pair of agents \(agents\.delegation\.pairLimit\); it can again in \d+ s\.$/);
    expect(notices[1]).toBe('⚠️ Delegation stopped: this answer has already made 4 delegations, the limit per request (agents.delegation.maxTurnsPerExchange); busy must finish with what it has.');
    expect(notices[2]).toBe(notices[1]);
    expect(allChats(t).filter((c) => systemOf(c.request).includes('WORKER-AGENT'))).toHaveLength(3);
    expect(allChats(t).filter((c) => systemOf(c.request).includes('WORKER2-AGENT'))).toHaveLength(1);
  });
});

describe('mediation: a delegated agent that cannot run now', () => {
  it('a provider outage during delegation: the task is queued, retried with backoff and its result delivered to the conversation once', async () => {
    const { token, actor } = await t.createUser('olga');
    const scribe = await agent(token, { name: 'scribe', systemPrompt: 'SCRIBE-B writes.' });
    await agent(token, { name: 'relay', systemPrompt: 'RELAY-A relays.', delegatesTo: ['scribe'] });
    let scribeCalls = 0;
    scriptAgents(t, {
      'RELAY-A': ({ body }) => (hasToolResult(body) ? { text: body.includes('is queued') ? 'The scribe is busy; its note will follow here.' : 'unexpected' } : { toolCall: { name: 'delegate', arguments: { agent: 'scribe', task: 'Write a note about dogs.' } } }),
      // The scribe's model is down for its first two requests (the delegation and the first retry).
      'SCRIBE-B': () => (++scribeCalls <= 2 ? { error: 'server' } : { text: 'Note: [[dogs need walks]]' }),
    });
    const id = await conversationWith(token, 'relay');
    const reply = await say(token, id, 'Ask the scribe for a note on dogs.');
    expect(reply.reply?.content).toBe('The scribe is busy; its note will follow here.');
    const queued = (await messages(token, id)).find((m) => m.role === 'system');
    expect(queued?.content).toMatch(/^⏳ scribe cannot take the task from relay right now \(.+\)\. It is queued and will be tried again; its result will be posted here when it is done\.$/);

    const delivered = await eventually(async () => {
      const fromScribe = (await messages(token, id)).filter((m) => m.senderId === scribe.id);
      return fromScribe.length ? fromScribe : null;
    }, 'the scribe\'s queued result');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.role).toBe('assistant');
    expect(delivered[0]!.content).toBe('**scribe** finished the task relay handed over earlier (it was queued while its model was unavailable):\n\nNote: [[dogs need walks]]');
    expect(scribeCalls).toBe(3);
    const [row] = await t.core.database.db.select().from(agentDelegations).where(eq(agentDelegations.conversationId, id));
    expect(row).toMatchObject({ status: 'completed', result: 'Note: [[dogs need walks]]', toAgentId: scribe.id });

    // Delivered once: the same job run again (as after a crash) posts nothing more and calls no model.
    expect(await t.service.delegation.deliverQueued({ delegationId: row!.id, userId: actor.userId }, { lastAttempt: false, attempts: 4 })).toBe('delivered');
    expect((await messages(token, id)).filter((m) => m.senderId === scribe.id)).toHaveLength(1);
    expect(scribeCalls).toBe(3);
    const usage = await t.api<{ items: Array<{ key: string | null; outputTokens: number }> }>(token, 'GET', '/api/usage?groupBy=agent');
    expect(usage.body.items.find((i) => i.key === scribe.id)?.outputTokens).toBeGreaterThan(0);
  });

  it("a team member's question whose delegation was queued: the delivered work is billed to the member, never the owner", async () => {
    const owner = await t.createUser('gwen');
    const member = await t.createUser('hugo');
    const scribe = await agent(owner.token, { name: 'scribe', systemPrompt: 'SCRIBE-Q writes.' });
    await agent(owner.token, { name: 'relay', systemPrompt: 'RELAY-Q relays.', delegatesTo: ['scribe'] });
    let scribeCalls = 0;
    scriptAgents(t, {
      'RELAY-Q': ({ body }) => (hasToolResult(body) ? { text: 'The note will follow.' } : { toolCall: { name: 'delegate', arguments: { agent: 'scribe', task: 'Write a note about cats.' } } }),
      // Down for the delegation itself: the task is queued, then delivered by the job.
      'SCRIBE-Q': () => (++scribeCalls <= 1 ? { error: 'server' } : { text: 'Note: [[cats nap]]' }),
    });
    const team = (await t.api<{ id: string }>(owner.token, 'POST', '/api/teams', { slug: 'cattery' })).body.id;
    await t.api(owner.token, 'POST', `/api/teams/${team}/members`, { username: 'hugo' });
    const id = await conversationWith(owner.token, 'relay');
    await t.api(owner.token, 'POST', `/api/conversations/${id}/share`, { teamId: team });
    expect((await say(member.token, id, 'Ask the scribe for a note on cats.')).reply?.content).toBe('The note will follow.');
    await eventually(async () => (await messages(owner.token, id)).some((m) => m.senderId === scribe.id) || null, "the scribe's queued result");
    const rows = await t.core.database.db.select().from(usageRecords).where(eq(usageRecords.conversationId, id));
    const delegated = rows.filter((r) => r.purpose === 'delegation');
    expect(delegated.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.userId === member.actor.userId && r.teamId === team)).toBe(true);
  });

  it('a task whose agent stays down expires after its tries, with a notice in the conversation', async () => {
    const { token } = await t.createUser('peter');
    await agent(token, { name: 'sleeper', systemPrompt: 'SLEEPER-B' });
    await agent(token, { name: 'waker', systemPrompt: 'WAKER-A', delegatesTo: ['sleeper'] });
    let sleeperCalls = 0;
    scriptAgents(t, {
      'WAKER-A': ({ body }) => (hasToolResult(body) ? { text: 'waker answered' } : { toolCall: { name: 'delegate', arguments: { agent: 'sleeper', task: 'Wake up.' } } }),
      'SLEEPER-B': () => (sleeperCalls++, { error: 'overloaded' }),
    });
    const id = await conversationWith(token, 'waker');
    expect((await say(token, id, 'Wake the sleeper please.')).reply?.content).toBe('waker answered');
    const expired = await eventually(async () => (await messages(token, id)).find((m) => m.content.includes('expired')), 'the expiry notice');
    expect(expired.content).toMatch(/^⚠️ The task waker handed to sleeper expired: sleeper could not run after 4 tries \(.+\)\. Ask again when its model is back\.$/);
    // The first try when it was handed over, then the job's four.
    expect(sleeperCalls).toBe(5);
    const [row] = await t.core.database.db.select().from(agentDelegations).where(eq(agentDelegations.conversationId, id));
    expect(row!.status).toBe('expired');
  });
});
