/**
 * `mosaic route [--user NAME] [--json] "text"`: prints the routing decision
 * for a text without calling any model. With --json, exactly the decision
 * object on one line.
 */
import type { Command } from 'commander';
import type { CliHelpers } from '../cli.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { Db } from '../db/client.ts';
import { UserStore } from '../identity/user-store.ts';
import { catalogueDirectory } from '../routing/catalogue-directory.ts';
import { configAvailability } from '../routing/config-availability.ts';
import { createRoutingService } from '../routing/routing-service.ts';
import type { ModelDirectory, ProviderAvailability, RoutingResult } from '../routing/types.ts';

export interface RouteCommandOptions {
  /** Live provider state; defaults to what the configuration says (enabled = healthy, configured key = credential). */
  availability?: (loaded: LoadedConfig, db: Db) => ProviderAvailability;
  /** Defaults to the checked-in capability matrix. */
  directory?: ModelDirectory;
}

export function registerRouteCommand(program: Command, helpers: CliHelpers, options: RouteCommandOptions = {}): void {
  program
    .command('route <text>')
    .description('show which model a message would be routed to, and why (no model is called)')
    .option('--user <name>', 'route as this user: their rules, keys and data policy (default: system rules and system keys only)')
    .option('--channel <name>', 'the channel the message arrives on (matrix, tui, web …)')
    .option('--local-only', 'treat the conversation as local-only')
    .option('--json', 'print exactly the decision object, on one line')
    .action(async (text: string, opts: { user?: string; channel?: string; localOnly?: boolean; json?: boolean }) => {
      await helpers.withDatabase(async (database, loaded) => {
        const userId = opts.user ? (await new UserStore(database.db).requireByUsername(opts.user)).id : null;
        const routing = createRoutingService({
          db: database.db,
          routing: loaded.config.routing,
          directory: options.directory ?? catalogueDirectory(),
          availability: options.availability ? options.availability(loaded, database.db) : configAvailability(loaded.config),
        });
        const result = await routing.route({ userId, text, ...(opts.channel ? { channel: opts.channel } : {}), localOnly: opts.localOnly === true });
        if (opts.json) console.log(JSON.stringify(result));
        else console.log(formatResult(result));
      });
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
