/**
 * `mosaic route [--user NAME] [--json] "text"`: prints the routing decision
 * for a text without calling any model. With --json, exactly the decision
 * object on one line. Runs in the server when one owns the embedded database.
 */
import type { Command } from 'commander';
import type { CliHelpers } from '../cli.ts';
import type { RoutingResult } from '../routing/types.ts';

export function registerRouteCommand(program: Command, helpers: CliHelpers, print: (line: string) => void = (line) => console.log(line)): void {
  program
    .command('route <text>')
    .description('show which model a message would be routed to, and why (no model is called; with a running server, its live provider health counts)')
    .option('--user <name>', 'route as this user: their rules, keys and data policy (default: system rules and system keys only)')
    .option('--channel <name>', 'the channel the message arrives on (matrix, tui, web …)')
    .option('--local-only', 'treat the conversation as local-only')
    .option('--json', 'print exactly the decision object, on one line')
    .action(async (text: string, opts: { user?: string; channel?: string; localOnly?: boolean; json?: boolean }) => {
      const result = (await helpers.admin('route', { text, ...(opts.user ? { user: opts.user } : {}), ...(opts.channel ? { channel: opts.channel } : {}), localOnly: opts.localOnly === true })) as RoutingResult;
      print(opts.json ? JSON.stringify(result) : formatResult(result));
    });
}

export function formatResult(result: RoutingResult): string {
  const c = result.classification;
  const lines: string[] = [];
  if (result.outcome === 'routed') lines.push(`→ ${result.provider}/${result.model}${result.rule ? `   (rule "${result.rule.name}")` : ''}`);
  else lines.push(`✗ no model: ${result.userNotice}`);
  lines.push(`why: ${result.reason}`);
  const needs = [c.capabilities.vision ? 'vision' : '', c.capabilities.tools ? 'tools' : '', `context ≥ ${c.capabilities.minContextWindow} tokens`].filter(Boolean).join(', ');
  lines.push(`classified: ${c.taskType}, ${c.complexity}, domain ${c.domain}, confidence ${c.confidence.toFixed(2)}; needs ${needs}`);
  for (const t of result.fallbacksTried) lines.push(`skipped ${t.provider}/${t.model}: ${t.why}`);
  return lines.join('\n');
}
