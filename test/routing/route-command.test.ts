/** `mosaic route`: the command as the lead will register it, over a real PGlite database. */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { parseConfig } from '../../src/config/load.ts';
import { AccountService } from '../../src/identity/account-service.ts';
import { registerRouteCommand } from '../../src/cli/route-command.ts';
import { createPgliteDatabase } from '../support/databases.ts';
import { cliHelpers } from '../support/cli-helpers.ts';

let database: Database;

beforeAll(async () => {
  database = await createPgliteDatabase();
  await new AccountService(database.db).createUser({ username: 'carol' });
});
afterAll(async () => database.close());

async function run(args: string[], env: Record<string, unknown> = {}): Promise<string[]> {
  const config = parseConfig({ providers: { anthropic: { apiKey: 'sk-test' }, zai: { apiKey: 'z-test' }, openai: { apiKey: 'o-test' }, ...env } });
  const program = new Command('mosaic').exitOverride();
  const lines: string[] = [];
  registerRouteCommand(program, cliHelpers(config, database), (line) => void lines.push(...line.split('\n')));
  await program.parseAsync(['node', 'mosaic', ...args]);
  return lines;
}

describe('mosaic route', () => {
  it('--json prints exactly the decision object on one line', async () => {
    const lines = await run(['route', '--json', 'Write a Python function that checks whether a string is a palindrome.']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const decision = JSON.parse(lines[0]!);
    expect(decision).toMatchObject({ outcome: 'routed', provider: 'anthropic', model: 'claude-opus-5-5', rule: { name: 'Coding → Claude Opus' } });
    expect(Object.keys(decision).sort()).toEqual(['agent', 'classification', 'estimatedCostTier', 'fallbacksTried', 'model', 'outcome', 'provider', 'reason', 'rule'].sort());
  });

  it('prints a readable decision, as a user, and says why a provider was skipped', async () => {
    const lines = (await run(['route', '--user', 'carol', 'Summarize this for me: the meeting moved to Friday.'], { zai: { enabled: false } })).join('\n').split('\n');
    expect(lines[0]).toBe('→ anthropic/claude-haiku-5-5   (rule "Summaries → GLM-5")');
    expect(lines.join('\n')).toContain('skipped zai/glm-5: zai is not enabled on this server');
  });

  it('without any cloud key routes to Ollama', async () => {
    const loaded = { anthropic: { apiKey: undefined }, zai: { apiKey: undefined }, openai: { apiKey: undefined } };
    const lines = await run(['route', '--json', 'What is the capital of Australia?'], loaded);
    expect(JSON.parse(lines[0]!)).toMatchObject({ provider: 'ollama', rule: { name: 'Offline or no keys → Ollama' } });
  });
});
