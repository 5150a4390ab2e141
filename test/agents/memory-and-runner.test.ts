/**
 * Memory (AC-3) and the agent runner, through the real provider adapters
 * against their simulators and a real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/logging.ts';
import type { Database } from '../../src/db/client.ts';
import { createProviderRegistry, type ProviderRegistry } from '../../src/providers/registry.ts';
import { providerEmbedder } from '../../src/agents/embedder.ts';
import { MemoryStore } from '../../src/agents/memory-store.ts';
import { MemoryService } from '../../src/agents/memory-service.ts';
import { memoryTools } from '../../src/agents/tools/memory-tools.ts';
import { runAgentTurn, type RunnerEvent } from '../../src/agents/runner.ts';
import { toAnthropicMessages } from '../../src/providers/anthropic.ts';
import type { ChatMessage } from '../../src/providers/types.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import { actorOf } from '../../src/identity/user-store.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { createPgDatabase, createPgliteDatabase } from '../support/databases.ts';
import { simulatorProviderConfig, startSimulator, type AnySimulator } from '../simulators/index.ts';

let ollama: AnySimulator;
let anthropic: AnySimulator;
let registry: ProviderRegistry;

beforeAll(async () => {
  ollama = await startSimulator('ollama');
  anthropic = await startSimulator('anthropic');
  // Retries as in production (a momentary connection error must not leave a memory without its vector), but quick.
  const config = parseConfig({ providers: { ...simulatorProviderConfig({ ollama, anthropic }), maxRetries: 2 } });
  registry = createProviderRegistry(config, createLogger('silent'), { policy: { backoff: { baseMs: 5, maxMs: 20, jitter: false, maxRetryAfterMs: 5000 } } });
});
afterAll(async () => {
  await ollama.close();
  await anthropic.close();
});

async function twoUsers(database: Database): Promise<{ alice: Actor; bob: Actor }> {
  const accounts = new AccountService(database.db);
  await accounts.createUser({ username: 'alice' });
  await accounts.createUser({ username: 'bob' });
  return { alice: actorOf((await accounts.users.findByUsername('alice'))!), bob: actorOf((await accounts.users.findByUsername('bob'))!) };
}

describe.each([
  ['PostgreSQL', async () => (await createPgDatabase()).database],
  ['PGlite', () => createPgliteDatabase()],
])('memory on %s', (_name, open) => {
  let database: Database;
  let memory: MemoryService;
  let alice: Actor;
  let bob: Actor;

  beforeAll(async () => {
    database = await open();
    ({ alice, bob } = await twoUsers(database));
    memory = new MemoryService(new MemoryStore(database.db), providerEmbedder(registry.get('ollama')!, 'nomic-embed-text'));
  });
  afterAll(async () => database.close());

  it("AC-3: each user's searches return only their own memories, ranked by meaning", async () => {
    const saved = [
      await memory.save(alice, { content: 'Alice is allergic to peanuts and shellfish.' }),
      await memory.save(alice, { content: 'Alice plays the cello on weekends.' }),
      await memory.save(bob, { content: 'Bob is allergic to cats.' }),
      await memory.save(bob, { content: 'Bob prefers the cello to the violin.' }),
    ];
    // Ranking by meaning needs every vector; a save that fell back to words would make the order below meaningless.
    expect(saved.map((m) => m.embedded)).toEqual([true, true, true, true]);
    const aliceHits = await memory.search(alice, 'which allergies', 5);
    expect(aliceHits.length).toBeGreaterThan(0);
    expect(aliceHits.every((h) => h.content.startsWith('Alice'))).toBe(true);
    expect(aliceHits[0]!.content).toContain('allergic');
    expect(aliceHits[0]!.match).toBe('vector');
    const bobHits = await memory.search(bob, 'cello', 5);
    expect(bobHits.every((h) => h.content.startsWith('Bob'))).toBe(true);
    expect(bobHits[0]!.content).toContain('cello');
    const embedCalls = ollama.requests.filter((r) => r.kind === 'embed');
    expect(embedCalls.length).toBeGreaterThanOrEqual(6);
    expect((embedCalls.at(-1)!.body as { model: string }).model).toBe('nomic-embed-text');
  });

  it('a memory id of another user is not found', async () => {
    const [hit] = await memory.search(alice, 'cello', 1);
    await expect(memory.get(bob, hit!.id)).rejects.toMatchObject({ httpStatus: 404 });
  });

  it('with the embedding provider down, memories are still saved and found by words', async () => {
    ollama.failAll('server');
    try {
      const saved = await memory.save(alice, { content: 'Alice keeps her passport in the blue drawer.' });
      expect(saved.embedded).toBe(false);
      const hits = await memory.search(alice, 'passport drawer', 3);
      expect(hits[0]).toMatchObject({ content: 'Alice keeps her passport in the blue drawer.', match: 'text' });
      expect(await memory.search(bob, 'passport', 3)).toEqual([]);
    } finally {
      ollama.failAll(null);
    }
  });
});

describe('agent runner', () => {
  let database: Database;
  let memory: MemoryService;
  let alice: Actor;
  let bob: Actor;

  beforeAll(async () => {
    ({ database } = await createPgDatabase());
    ({ alice, bob } = await twoUsers(database));
    memory = new MemoryService(new MemoryStore(database.db), providerEmbedder(registry.get('ollama')!, 'nomic-embed-text'));
  });
  afterAll(async () => database.close());

  it('runs a tool call with the acting user injected by the server, never taken from the arguments', async () => {
    anthropic.script({ toolCall: { name: 'memory_save', arguments: { content: 'The user likes green tea.', user_id: bob.userId } } }, { text: 'Noted: you like green tea.' });
    const events: RunnerEvent[] = [];
    const result = await runAgentTurn({
      adapter: registry.get('anthropic')!,
      model: 'claude-sonnet-5-5',
      system: 'You are a test agent.',
      history: [{ role: 'user', content: 'Remember that I like green tea.' }],
      tools: memoryTools(memory),
      maxSteps: 4,
      context: { actor: alice },
      onEvent: (e) => events.push(e),
    });
    expect(result.text).toBe('Noted: you like green tea.');
    expect(result.toolSteps).toBe(1);
    expect(result.calls).toHaveLength(2);
    expect(result.usage.outputTokens).toBe(result.calls[0]!.usage.outputTokens + result.calls[1]!.usage.outputTokens);
    expect(result.messages.map((m) => m.role)).toEqual(['assistant', 'tool', 'assistant']);
    expect(events.find((e) => e.type === 'tool_end')).toMatchObject({ ok: true });
    expect((await memory.search(alice, 'green tea', 3))[0]?.content).toBe('The user likes green tea.');
    expect(await new MemoryStore(database.db).searchByText(bob, 'green tea', 3)).toEqual([]);
    // The tool result went back to the model in the second request.
    const second = anthropic.requests.filter((r) => r.kind === 'chat').at(-1)!.body as { messages: Array<{ content: unknown }> };
    expect(JSON.stringify(second.messages)).toContain('\\"saved\\":true');
  });

  it('a failing or unknown tool is reported to the model, not a crash; the step budget ends the loop', async () => {
    anthropic.script(
      { toolCall: { name: 'memory_get', arguments: { id: 'not-a-uuid' } } },
      { toolCall: { name: 'delete_everything', arguments: {} } },
      { text: 'I could not do that.' },
    );
    const result = await runAgentTurn({
      adapter: registry.get('anthropic')!,
      model: 'claude-sonnet-5-5',
      system: 'test',
      history: [{ role: 'user', content: 'x' }],
      tools: memoryTools(memory),
      maxSteps: 2,
      context: { actor: alice },
    });
    const toolResults = result.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    expect(toolResults[0]).toMatch(/^error: invalid arguments for memory_get: id:/);
    expect(toolResults[1]).toBe('error: no tool named "delete_everything" is available to this agent');
    expect(result.text).toBe('I could not do that.');
    // The last allowed round was offered no tools.
    const last = anthropic.requests.filter((r) => r.kind === 'chat').at(-1)!.body as { tools?: unknown[] };
    expect(last.tools).toBeUndefined();
  });

  it('a cancelled turn stops the stream', async () => {
    anthropic.script({ text: 'x'.repeat(400), frameDelayMs: 50, chunkSize: 4 });
    const controller = new AbortController();
    let seen = 0;
    const run = runAgentTurn({
      adapter: registry.get('anthropic')!,
      model: 'claude-sonnet-5-5',
      system: 'test',
      history: [{ role: 'user', content: 'long answer please' }],
      tools: [],
      maxSteps: 0,
      context: { actor: alice },
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'text' && ++seen === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ kind: 'cancelled' });
    expect(seen).toBeLessThan(20);
  });

  it('a model that always thinks gets its signed thinking back with each tool result, within the turn only', async () => {
    // The simulator, like the API for Opus 5.5, refuses a tool result whose assistant turn lost the thinking block it signed.
    anthropic.script(
      { toolCall: { name: 'memory_save', arguments: { content: 'The user drinks oolong.' } } },
      { toolCall: { name: 'memory_search', arguments: { query: 'oolong' } } },
      { text: 'Saved, and I can find it again.' },
    );
    const before = anthropic.chatRequests().length;
    const result = await runAgentTurn({
      adapter: registry.get('anthropic')!,
      model: 'claude-opus-5-5',
      system: 'test',
      history: [{ role: 'user', content: 'Remember that I drink oolong.' }],
      tools: memoryTools(memory),
      maxSteps: 4,
      context: { actor: alice },
    });
    expect(result.text).toBe('Saved, and I can find it again.');
    expect(result.toolSteps).toBe(2);
    type Sent = { messages: Array<{ role: string; content: Array<{ type: string; signature?: string }> }> };
    const sent = anthropic.chatRequests().slice(before).map((r) => r.body as Sent);
    expect(sent).toHaveLength(3);
    const assistantTurns = sent[2]!.messages.filter((m) => m.role === 'assistant');
    expect(assistantTurns.map((m) => m.content.map((b) => b.type))).toEqual([['thinking', 'tool_use'], ['thinking', 'tool_use']]);
    const signatures = assistantTurns.map((m) => m.content[0]!.signature);
    expect(new Set(signatures).size).toBe(2);
    // The signed blocks are not part of what gets stored for the conversation.
    expect(result.messages.some((m) => m.providerState !== undefined)).toBe(false);
  });

  it('signed thinking is only handed back to the model that produced it', () => {
    const blocks = [{ type: 'thinking', thinking: '', signature: 'sig' }];
    const history: ChatMessage[] = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'toolu_1', name: 'memory_search', arguments: { query: 'x' } }], providerState: { provider: 'anthropic', model: 'claude-opus-5-5', blocks } },
      { role: 'tool', content: '[]', toolCallId: 'toolu_1' },
    ];
    const kinds = (model: string) => (toAnthropicMessages(history, model)[1]!.content as Array<{ type: string }>).map((b) => b.type);
    expect(kinds('claude-opus-5-5')).toEqual(['thinking', 'tool_use']);
    expect(kinds('claude-sonnet-5-5')).toEqual(['tool_use']);
  });
});
