/**
 * Delegation: agent A hands a task (or a question) to agent B while
 * answering a person. B runs as itself — its own system prompt, tools and
 * routing — for the same person, within the same exchange; its answer is
 * the result of A's tool call. Every step is routed, metered against the
 * person's usage and recorded. The limits (cycles, depth, turns per
 * exchange, per-pair rate, the person's budget) refuse with a notice in the
 * person's conversation, never silently.
 */
import { randomUUID } from 'node:crypto';
import type { Actor } from '../../identity/actor.ts';
import type { Logger } from '../../logging.ts';
import type { Credential, ProviderAdapter, ProviderName } from '../../providers/types.ts';
import { toAgentProfile } from '../../routing/agent-profile.ts';
import type { ModelDirectory, RoutingDecision, RoutingInput, RoutingResult } from '../../routing/types.ts';
import { MosaicError, errorMessage, isMosaicError } from '../../errors.ts';
import type { AgentConfig, AgentStore } from '../agent-store.ts';
import { runAgentTurn, type RunnerResult } from '../runner.ts';
import type { AgentTool, ToolContext } from '../tool.ts';
import { delegationTools } from '../tools/delegation-tools.ts';
import { checkChain, rateRefusal, type DelegationLimits, type Refusal } from './delegation-limits.ts';
import type { DelegationStore } from './delegation-store.ts';
import { deeper, type Exchange } from './exchange.ts';
import type { PairRateLimiter } from './pair-rate-limit.ts';

export type DelegationKind = 'delegate' | 'ask';

export interface DelegationSettings extends DelegationLimits {
  /** Tool-call rounds the delegated agent may take. */
  maxSteps: number;
}

/** What delegation needs from the rest of Mosaic, as narrow ports. */
export interface DelegationDeps {
  agents: AgentStore;
  store: DelegationStore;
  pairs: PairRateLimiter;
  routing: { route(actor: Actor, input: Omit<RoutingInput, 'userId'>): Promise<RoutingResult> };
  providers: { adapter(name: ProviderName): ProviderAdapter | undefined; credential(actor: Actor, provider: ProviderName): Promise<Credential | undefined> };
  /** Records each model call against the person's usage; returns the cost in USD. */
  ledger: { record(actor: Actor, sessionId: string, result: RunnerResult, provider: ProviderName, scope: { conversationId: string; agentId: string | null }, purpose: 'delegation'): Promise<number> };
  /** Posts Mosaic's notice into the person's conversation. */
  notices: { post(actor: Actor, conversationId: string, note: { key: string; text: string; threadId: string | null; metadata: Record<string, unknown> }): Promise<void> };
  /** The agents' other tools, by name (memory …). */
  tools: Map<string, AgentTool>;
  directory: ModelDirectory;
  settings: DelegationSettings;
  logger: Logger;
}

export interface DelegationRequest {
  kind: DelegationKind;
  from: AgentConfig;
  to: AgentConfig;
  task: string;
  context?: string | undefined;
}

export interface DelegationResult {
  agent: string;
  result: string;
}

/** A refused or failed delegation: the model sees `userNotice` as its tool's result and carries on. */
export class DelegationRefused extends MosaicError {
  constructor(code: string, notice: string) {
    super(code, notice, { httpStatus: 409, userNotice: notice });
  }
}

export class DelegationService {
  constructor(private readonly d: DelegationDeps) {}

  /** The agents `agent` may hand work to that the person can see (an agent since hidden or deleted is left out). */
  async targetsOf(actor: Actor, agent: AgentConfig): Promise<AgentConfig[]> {
    const out: AgentConfig[] = [];
    for (const id of agent.delegatesTo) {
      try {
        out.push(await this.d.agents.get(actor, id));
      } catch {
        // Deleted or no longer visible: not offered.
      }
    }
    return out;
  }

  /** Runs one delegation within the exchange in `ctx`; throws `DelegationRefused` with the notice already posted. */
  async delegate(request: DelegationRequest, ctx: ToolContext): Promise<DelegationResult> {
    const { actor, exchange, sessionId } = ctx;
    if (!exchange || !sessionId) throw new DelegationRefused('delegation_unavailable', 'Delegation only works while answering a message in a conversation.');
    const { from, to } = request;
    const id = randomUUID();
    const names = new Map([[from.id, from.name], [to.id, to.name]]);
    const nameOf = (agentId: string) => names.get(agentId) ?? (agentId === to.id ? to.name : 'another agent');
    await this.learnNames(actor, exchange.chain, names);
    const record = { id, conversationId: exchange.conversationId, exchangeId: exchange.id, fromAgentId: from.id, toAgentId: to.id, kind: request.kind, depth: exchange.chain.length, task: request.task };

    const refusal = checkChain(exchange, to.id, this.d.settings, nameOf) ?? (await this.rateCheck(actor, from, to));
    if (refusal) return this.refuse(actor, exchange, { ...record, status: 'refused' }, refusal);
    exchange.turns.used += 1;
    await this.d.store.begin(actor, { ...record, status: 'running' });

    const routed = await this.d.routing.route(actor, {
      text: request.task,
      attachments: [],
      channel: exchange.channel,
      agent: toAgentProfile(to, this.d.directory),
      pin: null,
      localOnly: exchange.localOnly,
    });
    if (routed.outcome === 'refused') {
      const code: Refusal['code'] = routed.code === 'budget_exhausted' ? 'delegation_budget' : 'delegation_no_provider';
      return this.refuse(actor, exchange, { ...record, status: 'refused' }, { code, notice: `${to.name} could not take the task from ${from.name}: ${routed.userNotice}` }, { routing: routed, existing: true });
    }
    try {
      const result = await this.runTarget(request, routed, { ...ctx, exchange, sessionId });
      const cost = await this.d.ledger.record(actor, sessionId, result, routed.provider, { conversationId: exchange.conversationId, agentId: to.id }, 'delegation');
      await this.d.store.finish(actor, id, {
        status: 'completed',
        result: result.text,
        provider: routed.provider,
        model: result.model,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        costUsd: cost,
        routing: routed as unknown as Record<string, unknown>,
      });
      this.d.logger.info({ event: 'agents.delegated', conversationId: exchange.conversationId, from: from.name, to: to.name, kind: request.kind, depth: record.depth, provider: routed.provider, model: result.model }, 'delegation completed');
      return { agent: to.name, result: result.text };
    } catch (err) {
      if (ctx.signal?.aborted) {
        await this.d.store.finish(actor, id, { status: 'stopped', notice: 'Stopped.' });
        throw err;
      }
      if (err instanceof DelegationRefused) throw err;
      const why = isMosaicError(err) ? err.userNotice : 'something went wrong';
      this.d.logger.warn({ event: 'agents.delegation_failed', conversationId: exchange.conversationId, from: from.name, to: to.name, err: errorMessage(err) }, 'delegation failed');
      return this.refuse(actor, exchange, { ...record, status: 'failed' }, { code: 'delegation_failed', notice: `${to.name} could not finish the task from ${from.name} (${routed.provider}/${routed.model}): ${why}` }, { routing: routed, existing: true, status: 'failed' });
    }
  }

  /** Agent B's turn: its prompt, its tools (and its own delegates, one level deeper), its routed model. */
  private async runTarget(request: DelegationRequest, routed: RoutingDecision, ctx: ToolContext & { exchange: Exchange; sessionId: string }): Promise<RunnerResult> {
    const { to, from } = request;
    const adapter = this.d.providers.adapter(routed.provider);
    if (!adapter) throw new MosaicError('provider_disabled', `${routed.provider} is not enabled on this server`, { httpStatus: 503, retryable: true, userNotice: `${routed.provider} is not enabled on this server.` });
    const credential = await this.d.providers.credential(ctx.actor, routed.provider);
    const exchange = deeper(ctx.exchange, to.id);
    const tools = request.kind === 'ask' ? [] : await this.toolsFor(ctx.actor, to, routed);
    return runAgentTurn({
      adapter,
      model: routed.model,
      credential,
      system: routed.agent?.systemPromptOverride ?? to.systemPrompt,
      history: [{ role: 'user', content: framedTask(request, from) }],
      tools,
      maxSteps: this.d.settings.maxSteps,
      context: { actor: ctx.actor, conversationId: exchange.conversationId, agentId: to.id, sessionId: ctx.sessionId, exchange },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }

  /** The tools an agent runs with: those its config lists (within a rule's allowlist), and delegation when it may delegate. */
  async toolsFor(actor: Actor, agent: AgentConfig, routed: RoutingDecision): Promise<AgentTool[]> {
    const allow = routed.agent?.toolAllowlist;
    const own = agent.tools.filter((name) => !allow || allow.includes(name)).map((name) => this.d.tools.get(name)).filter((t): t is AgentTool => t !== undefined);
    const targets = await this.targetsOf(actor, agent);
    const delegation = targets.length ? delegationTools(this, agent, targets).filter((t) => !allow || allow.includes(t.name)) : [];
    return [...own, ...delegation];
  }

  private async rateCheck(actor: Actor, from: AgentConfig, to: AgentConfig): Promise<Refusal | null> {
    const taken = await this.d.pairs.take(actor.userId, from.id, to.id);
    return taken.ok ? null : rateRefusal(from.name, to.name, this.d.settings, taken.retryAfterSeconds);
  }

  private async refuse(
    actor: Actor,
    exchange: Exchange,
    record: Parameters<DelegationStore['begin']>[1],
    refusal: Refusal,
    options: { routing?: RoutingResult; existing?: boolean; status?: 'refused' | 'failed' } = {},
  ): Promise<never> {
    const status = options.status ?? 'refused';
    if (options.existing) await this.d.store.finish(actor, record.id, { status, notice: refusal.notice, ...(options.routing ? { routing: options.routing as unknown as Record<string, unknown> } : {}) });
    else await this.d.store.begin(actor, { ...record, status, notice: refusal.notice });
    await this.d.notices.post(actor, exchange.conversationId, {
      key: `delegation:${record.id}`,
      text: `⚠️ ${refusal.notice}`,
      threadId: exchange.threadId,
      metadata: { delegation: { id: record.id, code: refusal.code, exchangeId: exchange.id }, inReplyTo: exchange.messageId },
    });
    this.d.logger.info({ event: 'agents.delegation_refused', conversationId: exchange.conversationId, code: refusal.code }, refusal.notice);
    throw new DelegationRefused(refusal.code, refusal.notice);
  }

  /** Names of the agents already in the chain, for readable notices. */
  private async learnNames(actor: Actor, chain: string[], names: Map<string, string>): Promise<void> {
    for (const agentId of chain) {
      if (names.has(agentId)) continue;
      const agent = await this.d.agents.get(actor, agentId).catch(() => null);
      if (agent) names.set(agentId, agent.name);
    }
  }
}

/** The delegated agent's one user message: who hands it what, and what to answer with. */
export function framedTask(request: Pick<DelegationRequest, 'kind' | 'task' | 'context'>, from: Pick<AgentConfig, 'name' | 'displayName'>): string {
  const who = from.displayName && from.displayName !== from.name ? `${from.displayName} (agent "${from.name}")` : `Agent "${from.name}"`;
  const context = request.context?.trim() ? `\n\nContext from ${from.name}:\n${request.context.trim()}` : '';
  if (request.kind === 'ask') return `${who} asks you, while helping a person:\n${request.task}${context}\n\nAnswer the question directly; ${from.name} passes your answer on.`;
  return `${who} hands you this task, while helping a person:\n${request.task}${context}\n\nDo the task and answer with its result, ready for ${from.name} to use.`;
}
