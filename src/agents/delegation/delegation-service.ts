/**
 * Delegation: agent A hands a task (or a question) to agent B while
 * answering a person. B runs as itself — its own system prompt, tools and
 * routing — for the same person, within the same exchange; its answer is
 * the result of A's tool call. Every step is routed, metered against the
 * person's usage and recorded. The limits (cycles, depth, turns per
 * exchange, per-pair rate, the person's budget) refuse with a notice in the
 * person's conversation, never silently.
 *
 * Mediation: when B cannot run now (no provider can take it, or its model
 * fails with a retryable error), the task is queued; A is told so and
 * answers the person, and the queued job posts B's result into the
 * conversation when it succeeds — once — or a notice when it expires.
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
import type { DeliveryPayload } from './delivery-job.ts';
import { DelegationEvents, type DelegationEvent } from './delegation-events.ts';
import { deeper, type Exchange } from './exchange.ts';
import { InterruptBox } from './interrupts.ts';
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
  /** Routes for `actor`; `owner`: the conversation's owner when `actor` is someone else (their local-only setting holds). */
  routing: { route(actor: Actor, input: Omit<RoutingInput, 'userId'>, owner?: Actor): Promise<RoutingResult> };
  providers: { adapter(name: ProviderName): ProviderAdapter | undefined; credential(actor: Actor, provider: ProviderName): Promise<Credential | undefined> };
  /** Records each model call against the person's usage (`payer`'s, when someone else than the session's owner asked); returns the cost in USD. */
  ledger: {
    record(actor: Actor, sessionId: string, result: RunnerResult, provider: ProviderName, scope: { conversationId: string; agentId: string | null }, purpose: 'delegation', payer?: Actor): Promise<number>;
  };
  /** Posts Mosaic's notice, or an agent's message, into the person's conversation (once per key). */
  notices: {
    post(actor: Actor, conversationId: string, note: { key: string; text: string; threadId: string | null; metadata: Record<string, unknown> }): Promise<void>;
    agentMessage(actor: Actor, conversationId: string, note: { key: string; agentId: string; text: string; threadId: string | null; metadata: Record<string, unknown> }): Promise<void>;
  };
  /** Queues the delivery of a task whose agent cannot run now (a job with backoff). */
  queue: { enqueue(job: DeliveryPayload): Promise<void> };
  actorFor(userId: string): Promise<Actor | null>;
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
  /** queued: the agent could not run now; its result will be posted to the conversation. */
  status: 'completed' | 'queued';
}

/** How a queued delivery went: the job retries on 'retry'. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'expired' | 'gone';

/** A refused or failed delegation: the model sees `userNotice` as its tool's result and carries on. */
export class DelegationRefused extends MosaicError {
  constructor(code: string, notice: string) {
    super(code, notice, { httpStatus: 409, userNotice: notice });
  }
}

export class DelegationService {
  /** Each delegation's steps as they happen (the Matrix agent rooms show them). */
  readonly events: DelegationEvents;

  constructor(private readonly d: DelegationDeps) {
    this.events = new DelegationEvents(d.logger);
  }

  private emit(actor: Actor, request: Pick<DelegationRequest, 'kind' | 'from' | 'to' | 'task'>, ids: { delegationId: string; exchangeId: string; conversationId: string; depth: number }, phase: DelegationEvent['phase'], text?: string): void {
    const who = (a: AgentConfig) => ({ id: a.id, name: a.name, ownerId: a.ownerId });
    this.events.emit({ ...ids, phase, userId: actor.userId, kind: request.kind, from: who(request.from), to: who(request.to), task: request.task, ...(text !== undefined ? { text } : {}), at: Date.now() });
  }

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
    const record = {
      id,
      conversationId: exchange.conversationId,
      exchangeId: exchange.id,
      fromAgentId: from.id,
      toAgentId: to.id,
      kind: request.kind,
      depth: exchange.chain.length,
      task: request.task,
      context: request.context ?? null,
      sessionId,
      messageId: exchange.messageId,
      threadId: exchange.threadId,
      localOnly: exchange.localOnly,
    };

    const refusal = checkChain(exchange, to.id, this.d.settings, nameOf) ?? (await this.rateCheck(actor, from, to));
    if (refusal) return this.refuse(actor, exchange, { ...record, status: 'refused' }, refusal, { request });
    exchange.turns.used += 1;
    await this.d.store.begin(actor, { ...record, status: 'running' });
    const ids = { delegationId: id, exchangeId: exchange.id, conversationId: exchange.conversationId, depth: record.depth };
    this.emit(actor, request, ids, 'handed');

    // Whoever asked pays for the work done for their question, as for the answer itself.
    const asker = exchange.asker;
    const routed = await this.d.routing.route(
      asker ?? actor,
      {
        text: request.task,
        attachments: [],
        channel: exchange.channel,
        agent: toAgentProfile(to, this.d.directory),
        pin: null,
        localOnly: exchange.localOnly,
      },
      asker ? actor : undefined,
    );
    if (routed.outcome === 'refused' && routed.code === 'no_usable_provider') return this.mediate(actor, exchange, request, id, routed.userNotice);
    if (routed.outcome === 'refused') {
      const code: Refusal['code'] = routed.code === 'budget_exhausted' ? 'delegation_budget' : 'delegation_no_provider';
      return this.refuse(actor, exchange, { ...record, status: 'refused' }, { code, notice: `${to.name} could not take the task from ${from.name}: ${routed.userNotice}` }, { routing: routed, existing: true, request });
    }
    try {
      this.emit(actor, request, ids, 'accepted', `${routed.provider}/${routed.model}`);
      const result = await this.runTarget(request, routed, { ...ctx, exchange, sessionId });
      const cost = await this.d.ledger.record(actor, sessionId, result, routed.provider, { conversationId: exchange.conversationId, agentId: to.id }, 'delegation', asker);
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
      this.emit(actor, request, ids, 'completed', result.text);
      return { agent: to.name, result: result.text, status: 'completed' };
    } catch (err) {
      if (ctx.signal?.aborted) {
        await this.d.store.finish(actor, id, { status: 'stopped', notice: 'Stopped.' });
        throw err;
      }
      if (err instanceof DelegationRefused) throw err;
      const why = isMosaicError(err) ? err.userNotice : 'something went wrong';
      // The model is down or overloaded right now: queue the task rather than lose it.
      if (isMosaicError(err) && err.retryable) return this.mediate(actor, exchange, request, id, `${routed.provider}/${routed.model}: ${why}`);
      this.d.logger.warn({ event: 'agents.delegation_failed', conversationId: exchange.conversationId, from: from.name, to: to.name, err: errorMessage(err) }, 'delegation failed');
      return this.refuse(actor, exchange, { ...record, status: 'failed' }, { code: 'delegation_failed', notice: `${to.name} could not finish the task from ${from.name} (${routed.provider}/${routed.model}): ${why}` }, { routing: routed, existing: true, status: 'failed', request });
    }
  }

  /**
   * An announcement to several agents at once, no reply expected: recorded
   * (one row per agent addressed) and shown in the group's agent room. The
   * agents addressed are not run. Counted like delegations (turns, pair rate).
   */
  async broadcast(from: AgentConfig, audience: AgentConfig[], message: string, ctx: ToolContext): Promise<{ sentTo: string[] }> {
    const { actor, exchange, sessionId } = ctx;
    if (!exchange || !sessionId) throw new DelegationRefused('delegation_unavailable', 'Broadcasts only work while answering a message in a conversation.');
    if (audience.length < 2) throw new DelegationRefused('broadcast_needs_two', 'A broadcast addresses at least two agents; for one, use delegate or ask_agent.');
    if (exchange.turns.used >= this.d.settings.maxTurnsPerExchange) {
      const refusal = checkChain(exchange, '', this.d.settings, (agentId) => (agentId === from.id ? from.name : 'another agent'))!;
      const record = { id: randomUUID(), conversationId: exchange.conversationId, exchangeId: exchange.id, fromAgentId: from.id, toAgentId: audience[0]!.id, kind: 'broadcast' as const, depth: exchange.chain.length, task: message };
      return this.refuse(actor, exchange, { ...record, status: 'refused' }, refusal);
    }
    for (const to of audience) {
      const limited = await this.rateCheck(actor, from, to);
      if (limited) {
        const record = { id: randomUUID(), conversationId: exchange.conversationId, exchangeId: exchange.id, fromAgentId: from.id, toAgentId: to.id, kind: 'broadcast' as const, depth: exchange.chain.length, task: message };
        return this.refuse(actor, exchange, { ...record, status: 'refused' }, limited);
      }
    }
    exchange.turns.used += 1;
    const id = randomUUID();
    for (const [i, to] of audience.entries()) {
      await this.d.store.begin(actor, { id: i === 0 ? id : randomUUID(), conversationId: exchange.conversationId, exchangeId: exchange.id, fromAgentId: from.id, toAgentId: to.id, kind: 'broadcast', depth: exchange.chain.length, task: message, status: 'completed' });
    }
    const who = (a: AgentConfig) => ({ id: a.id, name: a.name, ownerId: a.ownerId });
    this.events.emit({ phase: 'broadcast', delegationId: id, exchangeId: exchange.id, conversationId: exchange.conversationId, userId: actor.userId, kind: 'broadcast', from: who(from), to: who(audience[0]!), audience: audience.map(who), depth: exchange.chain.length, task: message, at: Date.now() });
    return { sentTo: audience.map((a) => a.name) };
  }

  /** Queues the task for later delivery; A gets a result saying so, the person a notice. */
  private async mediate(actor: Actor, exchange: Exchange, request: DelegationRequest, id: string, why: string): Promise<DelegationResult> {
    const { from, to } = request;
    await this.d.store.finish(actor, id, { status: 'queued', notice: why });
    await this.d.queue.enqueue({ delegationId: id, userId: actor.userId, ...(exchange.asker ? { askerId: exchange.asker.userId } : {}) });
    this.emit(actor, request, { delegationId: id, exchangeId: exchange.id, conversationId: exchange.conversationId, depth: exchange.chain.length }, 'queued', why);
    await this.d.notices.post(actor, exchange.conversationId, {
      key: `delegation-queued:${id}`,
      text: `⏳ ${to.name} cannot take the task from ${from.name} right now (${why}). It is queued and will be tried again; its result will be posted here when it is done.`,
      threadId: exchange.threadId,
      metadata: { delegation: { id, code: 'delegation_queued', exchangeId: exchange.id }, inReplyTo: exchange.messageId },
    });
    this.d.logger.info({ event: 'agents.delegation_queued', conversationId: exchange.conversationId, from: from.name, to: to.name }, 'delegated agent cannot run now; task queued');
    return {
      agent: to.name,
      status: 'queued',
      result: `${to.name} cannot run right now (${why}). The task is queued; its result will be posted in this conversation when it is done. Tell the person so, and answer with what you have.`,
    };
  }

  /**
   * Delivers a queued task: B runs as it would have (its prompt, its own
   * tools, routed afresh — the exchange it came from has ended, so it hands
   * nothing further on), and its result is posted to the conversation as
   * B's message, once. `lastAttempt`: a failure now expires the task with a
   * notice instead of asking for a retry.
   */
  async deliverQueued(job: DeliveryPayload, options: { lastAttempt: boolean; attempts: number }): Promise<DeliveryOutcome> {
    const actor = await this.d.actorFor(job.userId);
    if (!actor) return 'gone';
    // Whoever asked pays, later as at once; an asker whose account is gone since is not billed by proxy: the task is dropped with a notice.
    const asker = job.askerId && job.askerId !== job.userId ? await this.d.actorFor(job.askerId) : undefined;
    const row = await this.d.store.claimQueued(job.userId, job.delegationId);
    if (!row) return (await this.d.store.get(actor, job.delegationId)) ? 'delivered' : 'gone';
    const [from, to] = await Promise.all([row.fromAgentId, row.toAgentId].map((agentId) => (agentId ? this.d.agents.get(actor, agentId).catch(() => null) : null)));
    const post = (key: string, text: string, code: string) => this.d.notices.post(actor, row.conversationId, { key, text, threadId: row.threadId, metadata: { delegation: { id: row.id, code, exchangeId: row.exchangeId } } });
    if (!from || !to || !row.sessionId) {
      await this.d.store.finish(actor, row.id, { status: 'failed', notice: 'an agent of this delegation no longer exists' });
      await post(`delegation-gone:${row.id}`, '⚠️ A queued task was dropped: one of its agents no longer exists.', 'delegation_gone');
      return 'gone';
    }
    const request: DelegationRequest = { kind: row.kind === 'ask' ? 'ask' : 'delegate', from, to, task: row.task, context: row.context ?? undefined };
    if (asker === null) {
      await this.d.store.finish(actor, row.id, { status: 'failed', notice: 'the person who asked no longer has an account here' });
      await post(`delegation-gone:${row.id}`, '⚠️ A queued task was dropped: the person who asked for it no longer has an account here.', 'delegation_gone');
      return 'gone';
    }
    const routed = await this.d.routing.route(asker ?? actor, { text: row.task, attachments: [], channel: 'mosaic', agent: toAgentProfile(to, this.d.directory), pin: null, localOnly: row.localOnly }, asker ? actor : undefined);
    let why: string;
    if (routed.outcome === 'routed') {
      try {
        const exchange: Exchange = { id: row.exchangeId, conversationId: row.conversationId, messageId: row.messageId ?? row.id, threadId: row.threadId, localOnly: row.localOnly, channel: 'mosaic', chain: [from.id], turns: { used: Number.MAX_SAFE_INTEGER }, interrupts: new InterruptBox(), ...(asker ? { asker } : {}) };
        const result = await this.runTarget(request, routed, { actor, sessionId: row.sessionId, exchange }, { delegateFurther: false });
        const cost = await this.d.ledger.record(actor, row.sessionId, result, routed.provider, { conversationId: row.conversationId, agentId: to.id }, 'delegation', asker);
        this.emit(actor, request, { delegationId: row.id, exchangeId: row.exchangeId, conversationId: row.conversationId, depth: row.depth }, 'completed', result.text);
        await this.d.notices.agentMessage(actor, row.conversationId, {
          key: `delegation-result:${row.id}`,
          agentId: to.id,
          text: `**${to.name}** finished the task ${from.name} handed over earlier (it was queued while its model was unavailable):

${result.text}`,
          threadId: row.threadId,
          metadata: { delegation: { id: row.id, code: 'delegation_delivered', exchangeId: row.exchangeId, from: from.name, to: to.name } },
        });
        await this.d.store.finish(actor, row.id, { status: 'completed', result: result.text, provider: routed.provider, model: result.model, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens, costUsd: cost, routing: routed as unknown as Record<string, unknown>, notice: null });
        this.d.logger.info({ event: 'agents.delegation_delivered', conversationId: row.conversationId, from: from.name, to: to.name }, 'queued delegation delivered');
        return 'delivered';
      } catch (err) {
        if (!(isMosaicError(err) && err.retryable)) {
          const notice = `${to.name} could not finish the queued task from ${from.name}: ${isMosaicError(err) ? err.userNotice : 'something went wrong'}`;
          await this.d.store.finish(actor, row.id, { status: 'failed', notice });
          await post(`delegation-failed:${row.id}`, `⚠️ ${notice}`, 'delegation_failed');
          return 'gone';
        }
        why = `${routed.provider}/${routed.model}: ${err.userNotice}`;
      }
    } else {
      why = routed.userNotice;
    }
    if (!options.lastAttempt) {
      await this.d.store.finish(actor, row.id, { status: 'queued', notice: why });
      return 'retry';
    }
    const notice = `The task ${from.name} handed to ${to.name} expired: ${to.name} could not run after ${options.attempts} tries (${why}). Ask again when its model is back.`;
    await this.d.store.finish(actor, row.id, { status: 'expired', notice });
    await post(`delegation-expired:${row.id}`, `⚠️ ${notice}`, 'delegation_expired');
    return 'expired';
  }

  /** Agent B's turn: its prompt, its tools (and its own delegates, one level deeper), its routed model. */
  private async runTarget(request: DelegationRequest, routed: RoutingDecision, ctx: ToolContext & { exchange: Exchange; sessionId: string }, options: { delegateFurther: boolean } = { delegateFurther: true }): Promise<RunnerResult> {
    const { to, from } = request;
    const adapter = this.d.providers.adapter(routed.provider);
    if (!adapter) throw new MosaicError('provider_disabled', `${routed.provider} is not enabled on this server`, { httpStatus: 503, retryable: true, userNotice: `${routed.provider} is not enabled on this server.` });
    // The asker's own key when someone else than the owner asked (never the owner's for their question).
    const credential = await this.d.providers.credential(ctx.exchange.asker ?? ctx.actor, routed.provider);
    const exchange = deeper(ctx.exchange, to.id);
    const tools = request.kind === 'ask' ? [] : await this.toolsFor(ctx.actor, to, routed, options);
    return runAgentTurn({
      adapter,
      model: routed.model,
      credential,
      system: routed.agent?.systemPromptOverride ?? to.systemPrompt,
      history: [{ role: 'user', content: framedTask(request, from) }],
      tools,
      maxSteps: this.d.settings.maxSteps,
      context: { actor: ctx.actor, conversationId: exchange.conversationId, agentId: to.id, sessionId: ctx.sessionId, exchange },
      interjections: () => exchange.interrupts.take(to.id),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  }

  /** The tools an agent runs with: those its config lists (within a rule's allowlist), and delegation when it may delegate. */
  async toolsFor(actor: Actor, agent: AgentConfig, routed: RoutingDecision, options: { delegateFurther: boolean } = { delegateFurther: true }): Promise<AgentTool[]> {
    const allow = routed.agent?.toolAllowlist;
    const own = agent.tools.filter((name) => !allow || allow.includes(name)).map((name) => this.d.tools.get(name)).filter((t): t is AgentTool => t !== undefined);
    const targets = options.delegateFurther ? await this.targetsOf(actor, agent) : [];
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
    options: { routing?: RoutingResult; existing?: boolean; status?: 'refused' | 'failed'; request?: DelegationRequest } = {},
  ): Promise<never> {
    const status = options.status ?? 'refused';
    if (options.request) this.emit(actor, options.request, { delegationId: record.id, exchangeId: exchange.id, conversationId: exchange.conversationId, depth: record.depth }, 'refused', refusal.notice);
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
