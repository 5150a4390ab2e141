/**
 * The chat commands every channel shares: /model /agent /history /why
 * /usage /budget /new /title /search /stop /help (each also as !name).
 */
import type { ConversationServices } from '../conversations/conversation-services.ts';
import { estimateTokens, logicalOrder } from '../conversations/context-window.ts';
import type { ModelInfo, ProviderName } from '../providers/types.ts';
import type { ModelDirectory } from '../routing/types.ts';
import { parseModelSelection } from '../routing/model-pin.ts';
import { isRetired } from '../routing/router.ts';
import { budgetUsage, resetDate, usd as budgetUsd, type BudgetStatus } from '../routing/budget.ts';
import { notFound } from '../errors.ts';
import { CommandUsageError, type CommandRegistry } from './registry.ts';
import { distance } from './edit-distance.ts';
import type { CommandContext, CommandDefinition } from './types.ts';

export interface CoreCommandDeps {
  service: ConversationServices;
  directory: ModelDirectory;
}

/** The models closest to what was typed, for "did you mean" answers. */
export function closeMatches(directory: ModelDirectory, name: string, limit = 5): ModelInfo[] {
  const wanted = name.toLowerCase();
  const now = Date.now();
  return directory
    .list()
    // Suggesting a model routing would refuse helps nobody.
    .filter((m) => !m.embedding && !isRetired(m, now))
    .map((m) => {
      // Compare with the whole name and with each of its parts, so "opuss" is close to "claude-opus-5-5".
      const names = [m.id, m.displayName, ...m.id.split(/[-/.:\s]+/), ...m.displayName.split(/\s+/)].map((n) => n.toLowerCase()).filter(Boolean);
      return { m, d: Math.min(...names.map((n) => distance(wanted, n))) };
    })
    // Equally close: the provider's own model before a proxy's copy, then the newest version.
    .sort((a, b) => a.d - b.d || Number(a.m.provider === 'openrouter') - Number(b.m.provider === 'openrouter') || b.m.id.localeCompare(a.m.id, 'en', { numeric: true }))
    .slice(0, limit)
    .map((x) => x.m);
}

/**
 * Resolves a typed model name the way routing resolves pins
 * (parseModelSelection); when it does not resolve, the close matches.
 */
export function findModelByName(directory: ModelDirectory, name: string): { found?: ModelInfo; problem?: string; suggestions: ModelInfo[] } {
  const sel = parseModelSelection(name, directory);
  const found = sel.kind === 'pin' ? directory.find(sel.provider, sel.model) : undefined;
  if (found) return { found, suggestions: [] };
  const problem = sel.kind === 'invalid' && !sel.message.startsWith('no model called') ? sel.message : undefined;
  return { ...(problem ? { problem } : {}), suggestions: closeMatches(directory, name) };
}

const ref = (m: { provider: string; id: string }) => `${m.provider}/${m.id}`;
const usd = (n: number) => `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;

function budgetLine(b: BudgetStatus | null): string {
  if (!b) return '- Monthly budget: none';
  const whose = b.source === 'user' ? 'yours' : b.source === 'team' ? "the team's" : 'the default';
  const effect = { ok: `any model until ${Math.round(b.economyAt * 100)} % is used`, economy: 'economy models only', exhausted: 'free local models only' }[b.state];
  return `- Monthly budget: ${budgetUsd(b.monthlyUsd)} (${whose}), ${budgetUsage(b)} — state **${b.state}**: ${effect}; resets ${resetDate(b)}`;
}

/** The person a command is about: who wrote it (a team member in a shared room), else the conversation's owner. */
const personOf = (ctx: CommandContext) => ctx.speaker ?? ctx.actor;

function conversationOf(ctx: CommandContext): string {
  if (!ctx.conversationId) throw notFound('conversation');
  return ctx.conversationId;
}

export function coreCommands(deps: CoreCommandDeps, registry: CommandRegistry): CommandDefinition[] {
  const { service, directory } = deps;
  const stores = service.stores;
  const requireModel = (name: string, usage: string): ModelInfo => {
    const { found, problem, suggestions } = findModelByName(directory, name);
    if (found) return found;
    const list = suggestions.map((m) => `\`${ref(m)}\``).join(', ') || 'none';
    throw new CommandUsageError(usage, problem ? `Model "${name}": ${problem}. Close matches: ${list}` : `Unknown model "${name}". Close matches: ${list}`);
  };

  const model: CommandDefinition = {
    name: 'model',
    usage: '/model [name|provider/model|auto]',
    summary: 'show the model, pin one for this conversation, or go back to automatic routing',
    needsConversation: true,
    async run(cmd, ctx) {
      const id = conversationOf(ctx);
      const arg = cmd.args.join(' ').trim();
      if (!arg) {
        const info = await service.sessionInfo.get(ctx.actor, id);
        const current = info.provider && info.model ? `${info.provider}/${info.model}` : 'not chosen yet (no answer so far)';
        return {
          text: info.pinned ? `Model: **${current}** (pinned; \`/model auto\` returns to routing)` : `Model: **${current}** (automatic routing; \`/model <name>\` pins one)`,
          data: { provider: info.provider, model: info.model, pinned: info.pinned },
        };
      }
      if (arg.toLowerCase() === 'auto') {
        await stores.conversations.update(ctx.actor, id, { pinnedProvider: null, pinnedModel: null });
        await service.sessionInfo.publish(ctx.actor, id);
        return { text: 'Model: automatic routing — each message goes to the model its rules choose.', data: { pinned: false } };
      }
      const found = requireModel(arg, '/model <name>');
      await stores.conversations.update(ctx.actor, id, { pinnedProvider: found.provider, pinnedModel: found.id });
      const info = await service.sessionInfo.get(ctx.actor, id);
      if (info.sessionId) await stores.sessions.recordModel(ctx.actor, info.sessionId, found.provider, found.id);
      await service.sessionInfo.publish(ctx.actor, id);
      return { text: `Model pinned: **${ref(found)}** (${found.displayName}) until \`/model auto\`.`, data: { provider: found.provider, model: found.id, pinned: true } };
    },
  };

  const agent: CommandDefinition = {
    name: 'agent',
    usage: '/agent [name] | /agent list | /agent new <name> --model <provider/model> --prompt "<system prompt>"',
    summary: 'show, switch, list or create agents',
    needsConversation: false,
    async run(cmd, ctx) {
      const [first, second] = cmd.args;
      if (first === 'list') {
        const agents = await stores.agents.list(ctx.actor);
        return {
          text: ['**Agents**', ...agents.map((a) => `- \`${a.name}\` — ${a.displayName}${a.system ? '' : ' (yours)'}${a.description ? `: ${a.description}` : ''}`)].join('\n'),
          data: agents.map((a) => ({ id: a.id, name: a.name, system: a.system })),
        };
      }
      if (first === 'new') {
        if (!second) throw new CommandUsageError(this.usage, 'Give the new agent a name');
        const prompt = typeof cmd.flags.prompt === 'string' ? cmd.flags.prompt : '';
        if (!prompt) throw new CommandUsageError(this.usage, 'An agent needs a system prompt (--prompt "…")');
        let provider: string | null = null;
        let modelId: string | null = null;
        if (typeof cmd.flags.model === 'string') {
          const found = requireModel(cmd.flags.model, this.usage);
          provider = found.provider;
          modelId = found.id;
        }
        const created = await stores.agents.create(ctx.actor, { name: second, systemPrompt: prompt, provider, model: modelId, tools: ['memory_save', 'memory_search', 'memory_get'] });
        return { text: `Created agent \`${created.name}\`${modelId ? ` (prefers ${provider}/${modelId})` : ''}. Switch to it with \`/agent ${created.name}\`.`, data: { id: created.id, name: created.name } };
      }
      const id = conversationOf(ctx);
      if (!first) {
        const conv = await stores.conversations.get(ctx.actor, id);
        const current = await service.api.agentOf(ctx.actor, conv);
        return { text: current ? `Agent: **${current.displayName}** (\`${current.name}\`)` : 'Agent: the default assistant', data: current ? { id: current.id, name: current.name } : null };
      }
      const target = await service.api.resolveAgent(ctx.actor, first);
      await stores.conversations.update(ctx.actor, id, { agentId: target.id });
      const info = await service.sessionInfo.publish(ctx.actor, id);
      return { text: `Agent switched to **${target.displayName}** (\`${target.name}\`): its instructions, tools and preferred model apply from the next message.`, data: { id: target.id, name: target.name, sessionId: info.sessionId } };
    },
  };

  const history: CommandDefinition = {
    name: 'history',
    usage: '/history',
    summary: 'message count, what was summarised, and how much of the context window is used',
    needsConversation: true,
    async run(_cmd, ctx) {
      const id = conversationOf(ctx);
      const conv = await stores.conversations.get(ctx.actor, id);
      const counts = await stores.conversations.counts(ctx.actor, id);
      const info = await service.sessionInfo.get(ctx.actor, id);
      const window = info.provider && info.model ? directory.find(info.provider as ProviderName, info.model)?.contextWindow : undefined;
      const rows = logicalOrder(await stores.conversations.allMessages(ctx.actor, id)).filter((m) => m.anchor > (conv.summarizedThroughSeq ?? -1) && m.role !== 'system');
      const used = rows.reduce((n, r) => n + estimateTokens(r.content), conv.summary ? estimateTokens(conv.summary) : 0);
      const pct = window ? ` (${((used / window) * 100).toFixed(1)} % of ${info.model}'s ${window.toLocaleString('en')}-token window)` : '';
      return {
        text: `**History**: ${counts.total} messages, ${counts.summarized} summarised${conv.summary ? ' into a running summary' : ''}. Context in use: ~${used.toLocaleString('en')} tokens${pct}.`,
        data: { messages: counts.total, summarized: counts.summarized, contextTokens: used, contextWindow: window ?? null },
      };
    },
  };

  const why: CommandDefinition = {
    name: 'why',
    usage: '/why',
    summary: "the last reply's routing decision in full",
    needsConversation: true,
    async run(_cmd, ctx) {
      const conv = await stores.conversations.get(ctx.actor, conversationOf(ctx));
      const d = conv.lastRouting as null | {
        outcome: string;
        provider?: string;
        model?: string;
        reason: string;
        rule: { name: string } | null;
        classification: { taskType: string; complexity: string; domain: string; confidence: number; capabilities: { tools: boolean; vision: boolean; minContextWindow: number } };
        fallbacksTried: Array<{ provider: string; model: string; why: string }>;
        costUsd?: number;
        usage?: { inputTokens: number; outputTokens: number };
      };
      if (!d) return { text: 'No reply has been routed in this conversation yet.' };
      const c = d.classification;
      const lines = [
        `**Why ${d.provider ? `${d.provider}/${d.model}` : 'no model'}**: ${d.reason}`,
        `- Rule: ${d.rule ? `\`${d.rule.name}\`` : 'none (pin or fallback chain)'}`,
        `- Classified as **${c.taskType}**, ${c.complexity}, domain ${c.domain}, confidence ${(c.confidence * 100).toFixed(0)} %`,
        `- Needs: ${[c.capabilities.tools && 'tools', c.capabilities.vision && 'vision'].filter(Boolean).join(', ') || 'nothing special'}; context ≥ ${c.capabilities.minContextWindow.toLocaleString('en')} tokens`,
        `- Fallbacks tried: ${d.fallbacksTried.length ? d.fallbacksTried.map((f) => `${f.provider}/${f.model} (${f.why})`).join('; ') : 'none'}`,
      ];
      if (d.costUsd !== undefined) lines.push(`- Cost: ${usd(d.costUsd)}${d.usage ? ` (${d.usage.inputTokens} in / ${d.usage.outputTokens} out tokens)` : ''}`);
      return { text: lines.join('\n'), data: d };
    },
  };

  const usage: CommandDefinition = {
    name: 'usage',
    usage: '/usage',
    summary: 'tokens and cost of this conversation, your totals today and this month, and your monthly budget',
    needsConversation: false,
    async run(_cmd, ctx) {
      const now = new Date();
      const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      // The person who asked (in a shared room, not necessarily the owner): their own spend and budget.
      const person = personOf(ctx);
      const conv = ctx.conversationId ? await stores.sessions.conversationUsage(person, ctx.conversationId) : null;
      const day = await stores.sessions.userUsage(person, today);
      const mon = await stores.sessions.userUsage(person, month);
      const budget = await service.api.budget(person);
      const fmt = (t: { totalTokens: number; costUsd: number; calls: number }) => `${t.totalTokens.toLocaleString('en')} tokens, ${usd(t.costUsd)} (${t.calls} calls)`;
      const lines = ['**Usage**'];
      if (conv) lines.push(`- This conversation: ${fmt(conv)}`);
      lines.push(`- You today (UTC): ${fmt(day)}`, `- You this month: ${fmt(mon)}`, budgetLine(budget));
      return { text: lines.join('\n'), data: { conversation: conv, today: day, month: mon, budget } };
    },
  };

  const budget: CommandDefinition = {
    name: 'budget',
    usage: '/budget [dollars | off]',
    summary: 'show your monthly budget, set it (e.g. /budget 20) or clear it (/budget off)',
    needsConversation: false,
    async run(cmd, ctx) {
      const arg = cmd.rest.trim().toLowerCase();
      // One's own budget, whoever's conversation it is written in.
      const person = personOf(ctx);
      if (!arg) {
        const b = await service.api.budget(person);
        return { text: ['**Budget**', budgetLine(b)].join('\n'), data: { budget: b } };
      }
      let value: number | null;
      if (arg === 'off' || arg === 'none') value = null;
      else {
        // "20", "$20", "20.50", "20 usd": dollars; anything else is a usage error, never a guess.
        const m = /^\$?(\d+(?:\.\d{1,2})?)\s*(?:usd|\$)?$/.exec(arg);
        if (!m) throw new CommandUsageError(this.usage, `"${cmd.rest.trim()}" is not an amount of US dollars; e.g. /budget 20, or /budget off for none of your own`);
        value = Number(m[1]);
      }
      const b = await service.api.setBudget(person, value);
      const said = value === null ? 'Your own monthly budget is cleared.' : `Your monthly budget is now ${usd(value)}.`;
      return { text: [`**Budget** — ${said}`, budgetLine(b)].join('\n'), data: { budget: b } };
    },
  };

  const newConversation: CommandDefinition = {
    name: 'new',
    usage: '/new [title]',
    summary: 'start a new conversation',
    needsConversation: false,
    async run(cmd, ctx) {
      let agentRef: string | null = null;
      if (ctx.conversationId) {
        const conv = await stores.conversations.get(ctx.actor, ctx.conversationId);
        agentRef = conv.agentId;
      }
      const title = cmd.rest.trim();
      const created = await service.api.create(ctx.actor, { ...(title ? { title } : {}), ...(agentRef ? { agent: agentRef } : {}) });
      return { text: `Started **${created.title}**.`, data: { id: created.id, title: created.title }, openConversationId: created.id };
    },
  };

  const title: CommandDefinition = {
    name: 'title',
    usage: '/title <text>',
    summary: 'rename this conversation',
    needsConversation: true,
    async run(cmd, ctx) {
      if (!cmd.rest.trim()) throw new CommandUsageError(this.usage, 'Give the new title');
      const updated = await service.api.update(ctx.actor, conversationOf(ctx), { title: cmd.rest });
      return { text: `Title: **${updated.title}**`, data: { title: updated.title } };
    },
  };

  const search: CommandDefinition = {
    name: 'search',
    usage: '/search <terms>',
    summary: 'search all your conversations',
    needsConversation: false,
    async run(cmd, ctx) {
      if (!cmd.rest.trim()) throw new CommandUsageError(this.usage, 'Give some words to search for');
      const hits = await stores.conversations.search(ctx.actor, cmd.rest, 5);
      if (hits.length === 0) return { text: `Nothing found for "${cmd.rest}".`, data: [] };
      return {
        text: [`**Search: ${cmd.rest}**`, ...hits.map((h) => `- _${h.conversationTitle}_ (${h.role}): ${h.snippet.replace(/<<|>>/g, '**')}`)].join('\n'),
        data: hits,
      };
    },
  };

  const stop: CommandDefinition = {
    name: 'stop',
    usage: '/stop',
    summary: 'stop the answer being written',
    needsConversation: true,
    async run(_cmd, ctx) {
      await service.answers.stop(ctx.actor, conversationOf(ctx));
      return { text: 'Stopping the current answer.' };
    },
  };

  const help: CommandDefinition = {
    name: 'help',
    usage: '/help',
    summary: 'this list',
    needsConversation: false,
    async run() {
      const lines = registry.list().map((c) => `- \`${c.usage.replace(/^\//, '!')}\` — ${c.summary}`);
      return {
        text: [
          '**Commands** (each works as `!name` or `/name`)',
          ...lines,
          '',
          'In Element, type `!model` rather than `/model`: Element treats unknown `/commands` itself unless you send them as plain text (`/plain /model`).',
        ].join('\n'),
      };
    },
  };

  return [model, agent, history, why, usage, budget, newConversation, title, search, stop, help];
}
