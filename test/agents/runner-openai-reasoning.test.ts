/**
 * The agent runner with a GPT-6 model over the Responses API: a tool loop
 * only succeeds because each step's encrypted reasoning goes back with the
 * function call it led to (the simulator, like the API with `store: false`,
 * refuses a call whose reasoning is missing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/logging.ts';
import { createProviderRegistry, type ProviderRegistry } from '../../src/providers/registry.ts';
import { runAgentTurn } from '../../src/agents/runner.ts';
import type { AgentTool } from '../../src/agents/tool.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { simulatorProviderConfig, startSimulator, type AnySimulator } from '../simulators/index.ts';

let openai: AnySimulator;
let registry: ProviderRegistry;
beforeAll(async () => {
  openai = await startSimulator('openai');
  registry = createProviderRegistry(parseConfig({ providers: { ...simulatorProviderConfig({ openai }), maxRetries: 0 } }), createLogger('silent'));
});
afterAll(async () => {
  await openai.close();
});

const actor: Actor = { userId: '00000000-0000-4000-8000-000000000001', role: 'member', username: 'alice' };
const notes: string[] = [];
const noteTools: AgentTool[] = [
  {
    name: 'note_save',
    description: 'Save a note',
    args: z.object({ text: z.string() }),
    parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    run: async (args) => {
      notes.push((args as { text: string }).text);
      return { saved: true };
    },
  },
  {
    name: 'note_find',
    description: 'Find notes containing a word',
    args: z.object({ word: z.string() }),
    parameters: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
    run: async (args) => notes.filter((n) => n.includes((args as { word: string }).word)),
  },
];

describe('runner with an OpenAI reasoning model', () => {
  it('gpt-6 gets its encrypted reasoning back with each function call output, within the turn only', async () => {
    openai.script(
      { thinking: 'Save it first.', toolCall: { name: 'note_save', arguments: { text: 'The user drinks oolong.' } } },
      { thinking: 'Now check it is findable.', toolCall: { name: 'note_find', arguments: { word: 'oolong' } } },
      { text: 'Saved, and I can find it again.' },
    );
    const before = openai.chatRequests().length;
    const result = await runAgentTurn({
      adapter: registry.get('openai')!,
      model: 'gpt-6.1-sol',
      system: 'test',
      history: [{ role: 'user', content: 'Remember that I drink oolong.' }],
      tools: noteTools,
      maxSteps: 4,
      context: { actor },
    });
    expect(result.text).toBe('Saved, and I can find it again.');
    expect(result.toolSteps).toBe(2);
    expect(result.thinking).toBe('Save it first.Now check it is findable.');
    type Sent = { input: Array<{ type: string; encrypted_content?: string }> };
    const sent = openai.chatRequests().slice(before).map((r) => r.body as Sent);
    expect(sent).toHaveLength(3);
    expect(sent[2]!.input.map((i) => i.type)).toEqual(['message', 'reasoning', 'function_call', 'function_call_output', 'reasoning', 'function_call', 'function_call_output']);
    const encrypted = sent[2]!.input.filter((i) => i.type === 'reasoning').map((i) => i.encrypted_content);
    expect(new Set(encrypted).size).toBe(2);
    // The encrypted reasoning is not part of what gets stored for the conversation.
    expect(result.messages.some((m) => m.providerState !== undefined)).toBe(false);
  });
});
