/**
 * Conversations end to end: the real REST API, real PostgreSQL and Redis,
 * the reply workers, routing with the seeded default rules, and the
 * provider simulators answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/identity/actor.ts';
import type { ConversationEvent } from '../../src/conversations/conversation-bus.ts';
import { startTestMosaic, type TestMosaic } from '../support/mosaic-harness.ts';

interface Reply {
  messageId: string;
  reply: { id: string; role: string; content: string; provider: string | null; model: string | null; routing: { rule: { name: string } | null; reason: string } | null } | null;
  command: { name: string; text: string; data: unknown } | null;
}

let t: TestMosaic;
let alice: { token: string; actor: Actor };
let bob: { token: string; actor: Actor };

beforeAll(async () => {
  t = await startTestMosaic({
    config: {
      models: [{ provider: 'ollama', id: 'phi-sim:latest', contextWindow: 2000, maxOutput: 200, tools: true }],
      conversations: { keepRecentMessages: 2 },
    },
  });
  alice = await t.createUser('alice');
  bob = await t.createUser('bob');
}, 120_000);
afterAll(async () => t?.stop());

async function newConversation(token: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await t.api<{ id: string }>(token, 'POST', '/api/conversations', body);
  expect(res.status).toBe(201);
  return res.body.id;
}

async function say(token: string, conversationId: string, content: string): Promise<Reply> {
  const res = await t.api<Reply>(token, 'POST', `/api/conversations/${conversationId}/messages?wait=true`, { content });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Chat requests the simulators received, oldest first, with the provider that got each. */
function chatRequests() {
  return Object.entries(t.simulators)
    .flatMap(([provider, sim]) => sim.requests.filter((r) => r.kind === 'chat').map((r) => ({ provider, body: r.body as Record<string, unknown>, at: r.at })))
    .sort((a, b) => a.at - b.at);
}
const lastChat = () => chatRequests().at(-1)!;
const bodyText = (body: unknown) => JSON.stringify(body);

describe('conversations over the REST API', () => {
  it('AC-1: history survives a restart and is sent to the model again', async () => {
    const id = await newConversation(alice.token, { title: 'Trip planning' });
    const first = await say(alice.token, id, 'My favourite city is Lisbon and I travel in May.');
    expect(first.reply?.role).toBe('assistant');
    expect(first.reply?.content).toContain('Lisbon');
    await say(alice.token, id, 'I prefer trains over planes.');

    await t.restart();

    const after = await say(alice.token, id, 'Remind me of my travel preferences?');
    expect(after.reply?.content).toContain('Remind me');
    const request = bodyText(lastChat().body);
    expect(request).toContain('My favourite city is Lisbon and I travel in May.');
    expect(request).toContain('I prefer trains over planes.');
    expect(request).toContain('Echo: My favourite city is Lisbon');
    const messages = await t.api<{ items: Array<{ role: string }> }>(alice.token, 'GET', `/api/conversations/${id}/messages`);
    expect(messages.body.items.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
  });

  it('a message whose answer job was lost is answered after a restart', async () => {
    const id = await newConversation(alice.token);
    // Stored without its job, as after a flushed Valkey.
    const { message } = await t.service.stores.conversations.append(alice.actor, id, { role: 'user', senderId: alice.actor.userId, senderType: 'user', content: 'Are you still there?', channel: 'api' });
    await t.restart();
    const deadline = Date.now() + 15_000;
    let reply: { content: string } | undefined;
    while (!reply && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const items = (await t.api<{ items: Array<{ replyToId: string | null; role: string; content: string }> }>(alice.token, 'GET', `/api/conversations/${id}/messages`)).body.items;
      reply = items.find((m) => m.replyToId === message.id && m.role === 'assistant');
    }
    expect(reply?.content).toBe('Echo: Are you still there?');
  });

  it('every reply carries its routing decision, and the default rules pick the model', async () => {
    const id = await newConversation(alice.token);
    const coding = await say(alice.token, id, 'Fix this TypeScript error:\n```ts\nconst x: number = "a";\n```\nTS2322: Type string is not assignable to type number');
    expect(coding.reply).toMatchObject({ provider: 'anthropic', model: 'claude-opus-5-5' });
    expect(coding.reply?.routing?.rule?.name).toBe('Coding → Claude Opus');
    expect(lastChat().provider).toBe('anthropic');
    expect((lastChat().body as { model: string }).model).toBe('claude-opus-5-5');
  });

  it('a model that fails before answering hands the message to the next candidate, and the reason says so', async () => {
    const id = await newConversation(alice.token);
    t.simulators.anthropic.script({ error: 'overloaded' });
    const answered = await say(alice.token, id, 'Refactor this function:\n```python\ndef f(x):\n    return x*2\n```');
    expect(answered.reply).toMatchObject({ role: 'assistant', provider: 'openai', model: 'gpt-6.1-sol' });
    expect(answered.reply?.routing?.reason).toMatch(/anthropic\/claude-opus-5-5 skipped: failed just now \(unavailable\); used a fallback of the rule openai\/gpt-6\.1-sol/);
    const messages = await t.api<{ items: Array<{ role: string }> }>(alice.token, 'GET', `/api/conversations/${id}/messages`);
    expect(messages.body.items.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('a conversation or a user marked local-only is answered by Ollama only, whatever the rules say', async () => {
    const id = await newConversation(alice.token);
    const patched = await t.api<{ localOnly: boolean }>(alice.token, 'PATCH', `/api/conversations/${id}`, { localOnly: true });
    expect(patched.body.localOnly).toBe(true);
    const coding = await say(alice.token, id, 'Fix this bug:\n```js\nconst a = [1,2,3]; a.lenght\n```');
    expect(coding.reply?.provider, JSON.stringify(coding.reply)).toBe('ollama');
    const other = await newConversation(bob.token);
    const me = await t.api<{ localOnly: boolean }>(bob.token, 'PATCH', '/api/me', { localOnly: true });
    expect(me.body.localOnly).toBe(true);
    const answered = await say(bob.token, other, 'Summarize: the meeting moved to Tuesday and the budget was approved.');
    expect(answered.reply?.provider).toBe('ollama');
    const cloudChats = () => (['anthropic', 'openai', 'openrouter', 'zai'] as const).reduce((n, p) => n + t.simulators[p].requests.filter((r) => r.kind === 'chat').length, 0);
    const cloudBefore = cloudChats();
    t.simulators.ollama.failAll('server');
    try {
      // Ollama down: the user is told, and nothing leaks to a cloud provider.
      const refused = await say(bob.token, other, 'Hello again');
      expect(refused.reply).toMatchObject({ role: 'system', provider: null });
      expect(refused.reply?.content).toMatch(/^⚠️ ollama\/\S+ could not answer/);
      expect(cloudChats()).toBe(cloudBefore);
    } finally {
      t.simulators.ollama.failAll(null);
      // The failures above count against Ollama's health: start the next tests from a clean slate.
      await t.core.services.health.reset('ollama');
      await t.api(bob.token, 'PATCH', '/api/me', { localOnly: false });
    }
  });

  it('a conversation past 80 % of a small context window is summarised; the next request fits and carries the summary', async () => {
    const id = await newConversation(alice.token);
    const pin = await say(alice.token, id, '!model ollama/phi-sim:latest');
    expect(pin.command?.text).toContain('ollama/phi-sim:latest');
    const summaryStep = { text: 'SUMMARY: the user described five long paragraphs about gardening.' };
    t.simulators.zai.setDefault(summaryStep);
    const zaiBefore = t.simulators.zai.requests.length;
    const paragraph = (n: number) => `Paragraph ${n}: ${'tomatoes need sun and regular water; '.repeat(18)}`;
    for (let n = 1; n <= 5; n++) {
      const answered = await say(alice.token, id, paragraph(n));
      expect(answered.reply).toMatchObject({ role: 'assistant', provider: 'ollama', model: 'phi-sim:latest' });
    }
    const ollamaChats = t.simulators.ollama.requests.filter((r) => r.kind === 'chat');
    const last = ollamaChats.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    const system = last.messages.find((m) => m.role === 'system')?.content ?? '';
    expect(system).toContain('Summary of the earlier conversation:\nSUMMARY: the user described five long paragraphs');
    expect(bodyText(last)).not.toContain('Paragraph 1:');
    expect(bodyText(last)).toContain('Paragraph 5:');
    const estimated = Math.ceil(bodyText(last.messages).length / 4);
    expect(estimated).toBeLessThan(2000);
    // The summary was asked of a model chosen by routing (summarization → GLM-5).
    const summaryRequests = t.simulators.zai.requests.slice(zaiBefore).filter((r) => r.kind === 'chat');
    expect(summaryRequests.length).toBeGreaterThan(0);
    expect((summaryRequests.at(-1)!.body as { model: string }).model).toBe('glm-5');
    t.simulators.zai.setDefault({});
    // Originals stay stored and searchable.
    const hist = await say(alice.token, id, '!history');
    expect(hist.command?.data).toMatchObject({ messages: expect.any(Number), summarized: expect.any(Number) });
    expect((hist.command?.data as { summarized: number }).summarized).toBeGreaterThan(0);
    const search = await t.api<{ hits: Array<{ conversationId: string }> }>(alice.token, 'GET', '/api/conversations/search?q=Paragraph%201');
    expect(search.body.hits.some((h) => h.conversationId === id)).toBe(true);
  });

  it('/model and /agent change the next request; session:info follows; metrics add up', async () => {
    const id = await newConversation(alice.token);
    const events: ConversationEvent[] = [];
    const unsubscribe = await t.core.services.bus.subscribe(id, (e) => events.push(e));
    await say(alice.token, id, 'Hello there!');
    const r1 = lastChat();
    expect(r1.provider).toBe('anthropic');

    const pinned = await say(alice.token, id, '/model gpt-6-luna');
    expect(pinned.command?.data).toMatchObject({ provider: 'openai', model: 'gpt-6-luna', pinned: true });
    await say(alice.token, id, 'Hello again!');
    expect(lastChat()).toMatchObject({ provider: 'openai', body: expect.objectContaining({ model: 'gpt-6-luna' }) });

    const switched = await say(alice.token, id, '/agent coder');
    expect(switched.command?.text).toContain('Coder');
    await say(alice.token, id, 'One more hello.');
    // OpenAI over the Responses API: the system prompt is `instructions`, tools are flat function tools.
    const r3 = lastChat().body as { instructions?: string; tools?: Array<{ type: string; name: string }> };
    expect(r3.instructions).toContain('You are Coder');
    expect((r3.tools ?? []).map((x) => x.name).sort()).toEqual(['memory_get', 'memory_save', 'memory_search']);

    const unknown = await say(alice.token, id, '/model opuss');
    expect(unknown.command?.text).toMatch(/Unknown model "opuss". Close matches: .*claude-opus-5-5/);

    await say(alice.token, id, '/model auto');
    await new Promise((r) => setTimeout(r, 300));
    unsubscribe();
    const infos = events.filter((e): e is Extract<ConversationEvent, { type: 'session:info' }> => e.type === 'session:info').map((e) => e.info as { model: string | null; pinned: boolean; agent: { name: string } });
    expect(infos.some((i) => i.model === 'gpt-6-luna' && i.pinned)).toBe(true);
    expect(infos.some((i) => i.agent.name === 'coder')).toBe(true);
    expect(infos.at(-1)).toMatchObject({ pinned: false });

    const session = await t.api<{ sessionId: string; metrics: { messageCount: number; totalTokens: number; modelSwitches: number; costUsd: number } }>(alice.token, 'GET', `/api/conversations/${id}/session`);
    // The coder session holds the last turn; usage across the conversation adds up every call.
    expect(session.body.metrics.messageCount).toBe(2);
    const usage = await say(alice.token, id, '!usage');
    const data = usage.command?.data as { conversation: { calls: number; totalTokens: number; costUsd: number } };
    expect(data.conversation.calls).toBe(3);
    const chats = chatRequests().slice(-3);
    expect(chats).toHaveLength(3);
    expect(data.conversation.totalTokens).toBeGreaterThan(0);
    expect(data.conversation.costUsd).toBeGreaterThan(0);
    const totals = await t.api<{ totals: { calls: number } }>(alice.token, 'GET', '/api/usage');
    expect(totals.body.totals.calls).toBeGreaterThanOrEqual(3);
  });

  it('two messages sent at once to one conversation are answered in order; two conversations run concurrently', async () => {
    const one = await newConversation(alice.token);
    const two = await newConversation(alice.token);
    // Slow answers so that overlap (or its absence) is visible in the simulator's log.
    const slow = { delayMs: 600 };
    t.simulators.anthropic.script(slow, slow);
    const before = t.simulators.anthropic.requests.length;
    const [a, b] = await Promise.all([say(alice.token, one, 'Hello number one'), say(alice.token, one, 'Hello number two')]);
    expect(a.reply?.content).toContain('number one');
    expect(b.reply?.content).toContain('number two');
    const sameConv = t.simulators.anthropic.requests.slice(before).filter((r) => r.kind === 'chat');
    expect(sameConv).toHaveLength(2);
    // Whichever was stored first is answered first, and the second request
    // already holds that answer: one at a time, in order.
    const stored = await t.api<{ items: Array<{ role: string; content: string }> }>(alice.token, 'GET', `/api/conversations/${one}/messages`);
    const userOrder = stored.body.items.filter((m) => m.role === 'user').map((m) => m.content);
    expect(stored.body.items.map((m) => m.content)).toEqual([userOrder[0], userOrder[1], `Echo: ${userOrder[0]}`, `Echo: ${userOrder[1]}`]);
    expect(bodyText(sameConv[0]!.body)).not.toContain(userOrder[1]!);
    expect(bodyText(sameConv[1]!.body)).toContain(`Echo: ${userOrder[0]}`);

    const mark = t.simulators.anthropic.requests.length;
    t.simulators.anthropic.script({ delayMs: 1500 }, { delayMs: 1500 });
    await Promise.all([say(alice.token, one, 'Hi from the first'), say(alice.token, two, 'Hi from the second')]);
    const parallel = t.simulators.anthropic.requests.slice(mark).filter((r) => r.kind === 'chat');
    expect(parallel).toHaveLength(2);
    // Both requests reached the provider before either 1.5 s answer could have finished.
    expect(Math.abs(parallel[0]!.at - parallel[1]!.at)).toBeLessThan(1500);
  });

  it("another user's conversations, messages, agents and search hits are 404 or absent", async () => {
    const id = await newConversation(alice.token, { title: 'Secret plans' });
    await say(alice.token, id, 'The launch code word is pineapple.');
    const own = await t.api<{ id: string }>(alice.token, 'POST', '/api/agents', { name: 'private-bot', systemPrompt: 'Be private.' });
    expect(own.status).toBe(201);
    for (const [method, path, body] of [
      ['GET', `/api/conversations/${id}`],
      ['GET', `/api/conversations/${id}/messages`],
      ['GET', `/api/conversations/${id}/session`],
      ['PATCH', `/api/conversations/${id}`, { title: 'mine now' }],
      ['DELETE', `/api/conversations/${id}`],
      ['POST', `/api/conversations/${id}/messages`, { content: 'hi' }],
      ['GET', `/api/agents/${own.body.id}`],
      ['PATCH', `/api/agents/${own.body.id}`, { description: 'x' }],
      ['DELETE', `/api/agents/${own.body.id}`],
    ] as Array<[string, string, unknown?]>) {
      const res = await t.api<{ error: { code: string } }>(bob.token, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const list = await t.api<{ items: Array<{ id: string }> }>(bob.token, 'GET', '/api/conversations');
    expect(list.body.items.map((c) => c.id)).not.toContain(id);
    const search = await t.api<{ hits: unknown[] }>(bob.token, 'GET', '/api/conversations/search?q=pineapple');
    expect(search.body.hits).toEqual([]);
    const mine = await t.api<{ hits: Array<{ snippet: string }> }>(alice.token, 'GET', '/api/conversations/search?q=pineapple');
    expect(mine.body.hits[0]?.snippet).toContain('<<pineapple>>');
    const agents = await t.api<{ items: Array<{ name: string }> }>(bob.token, 'GET', '/api/agents');
    expect(agents.body.items.map((a) => a.name)).toEqual(expect.arrayContaining(['assistant', 'coder', 'summariser', 'researcher']));
    expect(agents.body.items.map((a) => a.name)).not.toContain('private-bot');
  });

  it('/stop cancels the answer being streamed; what was written is kept and marked stopped', async () => {
    const id = await newConversation(alice.token);
    t.simulators.anthropic.script({ text: 'word '.repeat(300), chunkSize: 5, frameDelayMs: 30 });
    const started = new Promise<void>((resolve) => {
      void t.core.services.bus.subscribe(id, (e) => {
        if (e.type === 'answer:delta') resolve();
      });
    });
    const pending = t.api<Reply>(alice.token, 'POST', `/api/conversations/${id}/messages?wait=true`, { content: 'Hello, tell me a long story' });
    await started;
    const stop = await t.api<Reply>(alice.token, 'POST', `/api/conversations/${id}/messages?wait=true`, { content: '!stop' });
    expect(stop.body.command?.name).toBe('stop');
    const answered = await pending;
    expect(answered.body.reply?.content).toMatch(/^(word )+[\s\S]*_Stopped\._$/);
    expect(answered.body.reply?.content.length).toBeLessThan('word '.repeat(300).length);
    const chat = t.simulators.anthropic.requests.filter((r) => r.kind === 'chat').at(-1)!;
    expect(chat.clientClosed).toBe(true);
  });

  it('bad input gets a clear 400 and stores nothing', async () => {
    const id = await newConversation(alice.token);
    const empty = await t.api<{ error: { message: string } }>(alice.token, 'POST', `/api/conversations/${id}/messages`, { content: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toContain('needs content');
    const badId = await t.api(alice.token, 'GET', '/api/conversations/not-an-id');
    expect(badId.status).toBe(400);
    const badAgent = await t.api<{ error: { message: string } }>(alice.token, 'POST', '/api/conversations', { agent: 'nobody' });
    expect(badAgent.status).toBe(404);
    expect(badAgent.body.error.message).toContain('no agent named "nobody"');
    const msgs = await t.api<{ items: unknown[] }>(alice.token, 'GET', `/api/conversations/${id}/messages`);
    expect(msgs.body.items).toEqual([]);
    const dup1 = await t.api<{ messageId: string; duplicate: boolean }>(alice.token, 'POST', `/api/conversations/${id}/messages`, { content: 'once', clientMessageId: 'c-1' });
    const dup2 = await t.api<{ messageId: string; duplicate: boolean }>(alice.token, 'POST', `/api/conversations/${id}/messages`, { content: 'once', clientMessageId: 'c-1' });
    expect(dup2.body).toMatchObject({ messageId: dup1.body.messageId, duplicate: true });
  });

  it('the scheduled summarization compacts a long conversation before its next message', async () => {
    const id = await newConversation(alice.token);
    await say(alice.token, id, '!model ollama/phi-sim:latest');
    for (let n = 1; n <= 2; n++) await say(alice.token, id, `Note ${n}: ${'the river floods every spring and the farmers plant after; '.repeat(12)}`);
    const before = await t.api<{ summary: string | null }>(alice.token, 'GET', `/api/conversations/${id}`);
    expect(before.body.summary).toBeNull();
    // Shrink what counts as "full" by adding more history than the window holds, then run the job now.
    for (let n = 4; n <= 6; n++) await t.service.inbound.receive(alice.actor, id, { id: crypto.randomUUID(), channelId: 'api', senderId: alice.actor.userId, senderType: 'user', content: `Note ${n}: ${'x '.repeat(300)}`, contentType: 'text', metadata: {}, timestamp: new Date() }, 'api', { answer: false });
    t.simulators.zai.script({ text: 'SUMMARY: notes about floods and planting.' });
    // A run that finds the conversation busy (the last answer's lease not yet released) skips it,
    // as it should; the next run takes it. Three runs are plenty; each run's outcome is reported.
    const outcomes: unknown[] = [];
    let after: { summary: string | null } = { summary: null };
    for (let attempt = 0; attempt < 3 && !after.summary; attempt++) {
      const run = await t.api<{ id: string }>(t.adminToken, 'POST', '/api/admin/jobs/queues/mosaic:summarization/run', {});
      expect(run.status, JSON.stringify(run.body)).toBeLessThan(300);
      const deadline = Date.now() + 20_000;
      let job: { state: string; returnValue: unknown; failedReason: string | null } = { state: 'waiting', returnValue: null, failedReason: null };
      while (Date.now() < deadline && job.state !== 'completed' && job.state !== 'failed') {
        await new Promise((r) => setTimeout(r, 100));
        job = (await t.api<typeof job>(t.adminToken, 'GET', `/api/admin/jobs/${run.body.id}`)).body;
      }
      outcomes.push({ state: job.state, result: job.returnValue, failedReason: job.failedReason });
      after = (await t.api<{ summary: string | null }>(alice.token, 'GET', `/api/conversations/${id}`)).body;
    }
    expect(after.summary, JSON.stringify(outcomes)).toBe('SUMMARY: notes about floods and planting.');
  });
});
