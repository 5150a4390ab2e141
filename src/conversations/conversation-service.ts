/**
 * The channel-agnostic heart of Mosaic. Every surface hands inbound
 * messages here as ChannelMessages; this service stores them, runs
 * commands, schedules answers, and answers one message at a time per
 * conversation: route → fit the context window → run the agent → store the
 * whole turn → fan out.
 */
import type { Actor } from '../identity/actor.ts';
import type { Logger } from '../logging.ts';
import type { ChannelMessage } from '../protocol/channel-message.ts';
import type { Credential, ProviderAdapter, ProviderName, Usage } from '../providers/types.ts';
import { toAgentProfile } from '../routing/agent-profile.ts';
import type { AgentProfile, BudgetStatus, ModelRef, FallbackTried, ModelDirectory, RoutingDecision, RoutingInput, RoutingResult } from '../routing/types.ts';
import type { AgentConfig, AgentStore } from '../agents/agent-store.ts';
import { runAgentTurn, type RunnerResult } from '../agents/runner.ts';
import { isProviderError } from '../providers/errors.ts';
import type { AgentTool } from '../agents/tool.ts';
import { MosaicError, errorMessage, isMosaicError, notFound } from '../errors.ts';
import type { CommandRegistry } from '../commands/registry.ts';
import type { CommandResult } from '../commands/types.ts';
import type { ConversationBus, ConversationEvent, StoredMessageView } from './conversation-bus.ts';
import type { ConversationLock, Lease } from './conversation-lock.ts';
import { toConversation, type Conversation, type ConversationRow, type ConversationStore, type MessageRow, type NewMessage } from './conversation-store.ts';
import { estimateTokens, logicalOrder, planContext, toChatMessages } from './context-window.ts';
import { noticeIdFor, replyIdFor } from './ids.ts';
import { isUuid } from '../db/uuid.ts';
import { costUsd } from './pricing.ts';
import type { SessionStore } from './session-store.ts';

/** Routes a message for a user: the routing engine with that user's rules. */
export interface RoutingPort {
  route(actor: Actor | null, input: Omit<RoutingInput, 'userId'>): Promise<RoutingResult>;
  /** The actor's monthly budget, this month's spend and its state, as routing sees them; null: no budget. */
  budget(actor: Actor): Promise<BudgetStatus | null>;
}

/** The user's own settings a chat command may change. */
export interface UserSettingsPort {
  /** null clears the user's own budget, so the configured default (if any) applies. */
  setMonthlyBudget(actor: Actor, monthlyBudgetUsd: number | null): Promise<void>;
}

/** The provider layer as this service needs it. */
export interface ProviderPort {
  adapter(name: ProviderName): ProviderAdapter | undefined;
  /** The acting user's own credential, or undefined to use the system key. */
  credential(actor: Actor, provider: ProviderName): Promise<Credential | undefined>;
}

/** Queues the answer to a stored message (BullMQ in production). */
export interface ReplyScheduler {
  schedule(job: { conversationId: string; userId: string; messageId: string }): Promise<void>;
}

export interface ConversationRoutingState {
  pin: ModelRef | null;
  localOnly: boolean;
  agent: AgentProfile | null;
}

export interface ConversationSettings {
  summarizeAt: number;
  keepRecentMessages: number;
  maxToolSteps: number;
  /** How long a queued answer waits for the conversation's lease before giving up for now. */
  leaseWaitMs?: number;
  /** Streamed text is published at most this often. */
  deltaIntervalMs?: number;
}

export interface ConversationServiceDeps {
  conversations: ConversationStore;
  agents: AgentStore;
  sessions: SessionStore;
  bus: ConversationBus;
  lock: ConversationLock;
  routing: RoutingPort;
  userSettings: UserSettingsPort;
  providers: ProviderPort;
  directory: ModelDirectory;
  commands: CommandRegistry;
  replies: ReplyScheduler;
  /** Tools by name; an agent gets those its config lists. */
  tools: Map<string, AgentTool>;
  /** Loads the actor for a user id (queued answers carry only the id). */
  actorFor(userId: string): Promise<Actor | null>;
  settings: ConversationSettings;
  logger: Logger;
}

export interface InboundOptions {
  /** false: store only (a group room where the agent was not addressed). */
  answer?: boolean;
  /** Display name of the sender in a shared room, shown to the model. */
  senderName?: string;
}

export interface InboundResult {
  message: MessageRow;
  /** false: this message was already stored (a retried delivery); nothing else was done. */
  created: boolean;
  command?: { name: string; result: CommandResult; notice: MessageRow };
  /** An answer was queued. */
  scheduled: boolean;
}

export interface SessionInfo {
  conversationId: string;
  sessionId: string | null;
  agent: { id: string | null; name: string; displayName: string };
  provider: string | null;
  model: string | null;
  pinned: boolean;
  lastRouting: unknown;
  metrics: unknown;
}

/** Failures after which another model may take the message (the provider, not the request, is at fault). */
const FAILOVER_CODES = new Set(['provider_unavailable', 'provider_rate_limit', 'provider_timeout', 'provider_malformed_stream', 'provider_auth', 'provider_disabled', 'provider_stream_incomplete']);
const MAX_FAILOVERS = 2;

const DEFAULT_AGENT_PROMPT = 'You are Mosaic, a helpful assistant. Answer clearly and concisely. Use markdown when it helps.';
const SUMMARY_PROMPT =
  'You maintain a running summary of a conversation between a user and an AI assistant. Merge the previous summary (if any) with the new messages into one concise summary that keeps names, decisions, facts, open questions and anything the assistant promised. Write it in the third person, under 300 words. Answer with the summary only.';

export function toView(row: MessageRow): StoredMessageView {
  return {
    id: row.id,
    conversationId: row.conversationId,
    seq: row.seq,
    role: row.role,
    senderId: row.senderId,
    senderType: row.senderType,
    content: row.content,
    contentType: row.contentType,
    channel: row.channel,
    externalId: row.externalId,
    replyToId: row.replyToId,
    threadId: row.threadId,
    editOf: row.editOf,
    attachments: row.attachments,
    provider: row.provider,
    model: row.model,
    routing: row.routing,
    metadata: row.metadata,
    createdAt: row.createdAt.toISOString(),
  };
}

export class ConversationService {
  constructor(private readonly deps: ConversationServiceDeps) {}

  get stores() {
    return { conversations: this.deps.conversations, agents: this.deps.agents, sessions: this.deps.sessions };
  }

  // ---- conversations -------------------------------------------------------------------

  async create(actor: Actor, input: { title?: string; agent?: string | null; localOnly?: boolean } = {}): Promise<Conversation> {
    const agent = input.agent ? await this.resolveAgent(actor, input.agent) : await this.deps.agents.findByName(actor, 'assistant');
    const row = await this.deps.conversations.create(actor, { ...(input.title ? { title: input.title } : {}), agentId: agent?.id ?? null, localOnly: input.localOnly ?? false });
    return toConversation(row);
  }

  /** The actor's monthly budget and this month's spend (for /usage and GET /api/usage); null when none applies. */
  async budget(actor: Actor): Promise<BudgetStatus | null> {
    return this.deps.routing.budget(actor);
  }

  /** Sets (or, with null, clears) the actor's own monthly budget; the budget as routing now sees it. */
  async setBudget(actor: Actor, monthlyBudgetUsd: number | null): Promise<BudgetStatus | null> {
    await this.deps.userSettings.setMonthlyBudget(actor, monthlyBudgetUsd);
    return this.deps.routing.budget(actor);
  }

  /** What a conversation contributes to routing: its /model pin, data policy and agent. */
  private routingStateOf(conv: ConversationRow, agent: AgentConfig | null): ConversationRoutingState {
    return {
      pin: conv.pinnedProvider && conv.pinnedModel ? { provider: conv.pinnedProvider as ProviderName, model: conv.pinnedModel } : null,
      // The user's own local-only flag is applied by routing itself.
      localOnly: conv.localOnly,
      agent: agent ? toAgentProfile(agent, this.deps.directory) : null,
    };
  }

  /** The routing state of one of the actor's conversations, or null when it is not theirs (for /api/routing/explain). */
  async routingState(actor: Actor, conversationId: string): Promise<ConversationRoutingState | null> {
    const conv = await this.deps.conversations.get(actor, conversationId).catch(() => null);
    if (!conv) return null;
    return this.routingStateOf(conv, await this.agentOf(actor, conv));
  }

  /** An agent by id or name, visible to the actor. */
  async resolveAgent(actor: Actor, ref: string): Promise<AgentConfig> {
    if (isUuid(ref)) return this.deps.agents.get(actor, ref);
    const found = await this.deps.agents.findByName(actor, ref);
    if (!found) {
      const names = (await this.deps.agents.list(actor)).map((a) => a.name);
      throw new MosaicError('agent_unknown', `no agent named "${ref}"; available: ${names.join(', ') || 'none'}`, { httpStatus: 404 });
    }
    return found;
  }

  async agentOf(actor: Actor, conv: ConversationRow): Promise<AgentConfig | null> {
    if (!conv.agentId) return null;
    try {
      return await this.deps.agents.get(actor, conv.agentId);
    } catch {
      return null;
    }
  }

  async update(actor: Actor, id: string, patch: { title?: string; archived?: boolean; localOnly?: boolean }): Promise<Conversation> {
    const row = await this.deps.conversations.update(actor, id, patch);
    if (patch.localOnly !== undefined) await this.publishSessionInfo(actor, id);
    if (patch.title !== undefined) await this.publish({ type: 'conversation:updated', conversationId: id, change: 'title', title: row.title });
    // Surfaces act on the direction (a channel closes or reopens its side), so it is part of the change.
    if (patch.archived !== undefined) await this.publish({ type: 'conversation:updated', conversationId: id, change: patch.archived ? 'archived' : 'unarchived' });
    return toConversation(row);
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.deps.conversations.remove(actor, id);
    await this.publish({ type: 'conversation:updated', conversationId: id, change: 'deleted' });
  }

  // ---- inbound ----------------------------------------------------------------------------

  /**
   * Stores an inbound message and acts on it: a command is executed and its
   * result stored as a notice; anything else is queued for an answer. A
   * repeat of a stored message (same channel-native id) does nothing.
   */
  async receive(actor: Actor, conversationId: string, msg: ChannelMessage, channel: string, options: InboundOptions = {}): Promise<InboundResult> {
    const conv = await this.deps.conversations.get(actor, conversationId);
    if (conv.archivedAt) throw new MosaicError('conversation_archived', 'this conversation is archived; unarchive it or start a new one', { httpStatus: 409 });
    const command = msg.senderType === 'user' ? this.deps.commands.match(msg.content) : null;
    const channelMessageId = typeof msg.metadata.channelMessageId === 'string' ? msg.metadata.channelMessageId : null;
    const editOf = typeof msg.metadata.editOf === 'string' ? msg.metadata.editOf : null;
    const answer = options.answer !== false && !command && !editOf && msg.senderType === 'user';
    const record: NewMessage = {
      id: msg.id,
      role: 'user',
      senderId: msg.senderId,
      senderType: msg.senderType,
      content: msg.content,
      contentType: msg.contentType,
      channel,
      externalId: channelMessageId,
      editOf,
      replyToId: msg.replyToId ?? null,
      threadId: msg.threadId ?? null,
      attachments: msg.attachments ?? [],
      metadata: {
        ...msg.metadata,
        ...(command ? { command: true, commandName: command.def.name } : {}),
        ...(answer ? {} : { noReply: true }),
        ...(options.senderName ? { senderName: options.senderName } : {}),
      },
      createdAt: msg.timestamp,
    };
    const { message, created } = await this.deps.conversations.append(actor, conversationId, record);
    if (!created) return { message, created: false, scheduled: false };
    await this.publish({ type: 'message:new', conversationId, message: toView(message) });

    if (conv.title === 'New conversation' && !command && msg.content.trim()) {
      const title = msg.content.trim().split('\n')[0]!.slice(0, 60);
      await this.update(actor, conversationId, { title: title.length === 60 ? `${title}…` : title }).catch(() => undefined);
    }

    if (command) {
      const result = (await this.deps.commands.execute(msg.content, { actor, conversationId, channel, messageId: message.id })) ?? { text: '' };
      const notice = await this.storeNotice(actor, conversationId, message, result.text, { command: command.def.name, ...(result.data === undefined ? {} : { data: result.data }) });
      return { message, created: true, command: { name: command.def.name, result, notice }, scheduled: false };
    }
    if (answer) {
      await this.deps.replies.schedule({ conversationId, userId: conv.ownerId, messageId: message.id });
      return { message, created: true, scheduled: true };
    }
    return { message, created: true, scheduled: false };
  }

  /**
   * Stores a message and waits for what answers it: the reply, a command's
   * notice, or a failure notice. Null when nothing came within the timeout
   * (the answer still arrives later).
   */
  async receiveAndWait(actor: Actor, conversationId: string, msg: ChannelMessage, channel: string, timeoutMs: number): Promise<{ inbound: InboundResult; reply: MessageRow | null }> {
    let resolveReply: (id: string) => void = () => undefined;
    const replied = new Promise<string>((resolve) => (resolveReply = resolve));
    const unsubscribe = await this.deps.bus.subscribe(conversationId, (event) => {
      if (event.type === 'message:new' && event.message.replyToId === msg.id && (event.message.role === 'system' || event.message.metadata.final === true)) resolveReply(event.message.id);
    });
    try {
      const inbound = await this.receive(actor, conversationId, msg, channel);
      if (inbound.command) return { inbound, reply: inbound.command.notice };
      if (!inbound.scheduled) return { inbound, reply: null };
      const deadline = Date.now() + timeoutMs;
      // Pub/sub is the fast path; the database is checked too, so a missed event only costs a poll.
      while (Date.now() < deadline) {
        const id = await Promise.race([replied, new Promise<null>((r) => setTimeout(() => r(null), Math.min(1000, Math.max(0, deadline - Date.now()))))]);
        const reply = id ? await this.deps.conversations.getMessage(actor, id) : await this.findReply(actor, conversationId, msg.id);
        if (reply) return { inbound, reply };
      }
      return { inbound, reply: null };
    } finally {
      unsubscribe();
    }
  }

  private async findReply(actor: Actor, conversationId: string, messageId: string): Promise<MessageRow | null> {
    const rows = await this.deps.conversations.listMessages(actor, conversationId, { limit: 50 });
    return rows.find((r) => r.replyToId === messageId && (r.role === 'system' || r.metadata.final === true)) ?? null;
  }

  /** Runs a command outside any stored message (a bot DM without a conversation, the REST API). */
  executeCommand(actor: Actor, text: string, conversationId: string | null, channel: string): Promise<CommandResult | null> {
    return this.deps.commands.execute(text, { actor, conversationId, channel });
  }

  private async storeNotice(actor: Actor, conversationId: string, replyTo: MessageRow, text: string, metadata: Record<string, unknown>): Promise<MessageRow> {
    const { message } = await this.deps.conversations.append(actor, conversationId, {
      id: noticeIdFor(replyTo.id),
      role: 'system',
      senderId: 'mosaic',
      senderType: 'system',
      content: text,
      contentType: 'markdown',
      channel: 'mosaic',
      replyToId: replyTo.id,
      threadId: replyTo.threadId,
      metadata: { ...metadata, final: true },
    });
    await this.publish({ type: 'message:new', conversationId, message: toView(message) });
    return message;
  }

  // ---- answering ----------------------------------------------------------------------------

  /**
   * Answers every waiting message of the conversation, oldest first, while
   * holding its lease. Returns 'busy' when another worker holds the lease
   * for longer than `leaseWaitMs` (that worker drains this message too).
   */
  async answerPending(conversationId: string, userId: string): Promise<'done' | 'busy' | 'gone'> {
    const actor = await this.deps.actorFor(userId);
    if (!actor) return 'gone';
    for (let round = 0; round < 3; round++) {
      const lease = await this.waitForLease(conversationId);
      if (!lease) return 'busy';
      try {
        for (;;) {
          let next: MessageRow | null;
          try {
            next = await this.deps.conversations.nextUnanswered(actor, conversationId);
          } catch (err) {
            if (isMosaicError(err) && err.httpStatus === 404) return 'gone';
            throw err;
          }
          if (!next) break;
          await this.answer(actor, conversationId, next, lease);
        }
      } finally {
        await lease.release();
      }
      // A message stored just as the lease was released must not be stranded.
      const late = await this.deps.conversations.nextUnanswered(actor, conversationId).catch(() => null);
      if (!late) return 'done';
    }
    return 'done';
  }

  private async waitForLease(conversationId: string): Promise<Lease | null> {
    const deadline = Date.now() + (this.deps.settings.leaseWaitMs ?? 60_000);
    for (;;) {
      const lease = await this.deps.lock.tryAcquire(conversationId);
      if (lease || Date.now() >= deadline) return lease;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Asks any replica answering this conversation to stop. */
  async stop(actor: Actor, conversationId: string): Promise<void> {
    await this.deps.conversations.get(actor, conversationId);
    await this.publish({ type: 'answer:cancel', conversationId, requestedBy: actor.userId });
  }

  private async answer(actor: Actor, conversationId: string, userMessage: MessageRow, lease: Lease): Promise<void> {
    const conv = await this.deps.conversations.get(actor, conversationId);
    const agent = await this.agentOf(actor, conv);
    const replyId = replyIdFor(userMessage.id);
    const localOnly = conv.localOnly;
    const routingInput: Omit<RoutingInput, 'userId'> = {
      text: userMessage.content,
      attachments: userMessage.attachments.map((a) => ({ name: a.name, mimeType: a.mimeType, ...(a.sizeBytes !== undefined ? { sizeBytes: a.sizeBytes } : {}) })),
      channel: userMessage.channel,
      ...this.routingStateOf(conv, agent),
    };

    const controller = new AbortController();
    lease.signal.addEventListener('abort', () => controller.abort(lease.signal.reason), { once: true });
    let stoppedByUser = false;
    const unsubscribe = await this.deps.bus.subscribe(conversationId, (event) => {
      if (event.type === 'answer:cancel') {
        stoppedByUser = true;
        controller.abort(new Error('stopped by the user'));
      }
    });
    const avoid: FallbackTried[] = [];
    try {
      for (;;) {
        const routed = await this.deps.routing.route(actor, { ...routingInput, ...(avoid.length ? { avoid } : {}) });
        if (routed.outcome === 'refused') {
          await this.storeNotice(actor, conversationId, userMessage, `⚠️ ${routed.userNotice}`, { routing: routed, refused: routed.code });
          await this.deps.conversations.update(actor, conversationId, { lastRouting: routed });
          await this.publish({ type: 'answer:failed', conversationId, replyId, replyTo: userMessage.id, notice: routed.userNotice });
          return;
        }
        const outcome = await this.attemptAnswer(actor, conv, agent, userMessage, replyId, routed, localOnly, controller.signal);
        if (outcome.ok) return;
        const { err, streamed, toolsRan } = outcome;
        if (controller.signal.aborted) {
          const why = stoppedByUser ? 'Stopped.' : 'Interrupted: this answer was taken over by another worker.';
          await this.storeStopped(actor, conversationId, userMessage, replyId, streamed, routed, why);
          await this.publish({ type: 'answer:stopped', conversationId, replyId, replyTo: userMessage.id });
          return;
        }
        // Fail over only while nothing has reached anyone: no text shown and
        // no tool run, so two models' work is never spliced into one answer.
        const code = isMosaicError(err) ? err.code : '';
        // A model the provider does not have (404: not pulled, retired) is as good as down for this message.
        const missingModel = isProviderError(err) && err.status === 404;
        if (!streamed && !toolsRan && (FAILOVER_CODES.has(code) || missingModel) && avoid.length < MAX_FAILOVERS) {
          avoid.push({ provider: routed.provider, model: routed.model, why: missingModel ? 'failed just now (the provider does not have this model)' : `failed just now (${code.replace(/^provider_/, '')})` });
          this.deps.logger.info({ event: 'answer.failover', conversationId, provider: routed.provider, model: routed.model, code }, 'model failed before answering; trying the next one');
          continue;
        }
        const notice = isMosaicError(err) ? err.userNotice : 'Something went wrong while answering.';
        this.deps.logger.warn({ event: 'answer.failed', conversationId, provider: routed.provider, model: routed.model, err: errorMessage(err) }, 'answer failed');
        await this.storeNotice(actor, conversationId, userMessage, `⚠️ ${routed.provider}/${routed.model} could not answer: ${notice}`, { routing: routed, error: code || 'internal' });
        await this.publish({ type: 'answer:failed', conversationId, replyId, replyTo: userMessage.id, notice });
        return;
      }
    } finally {
      unsubscribe();
    }
  }

  /** One model's attempt at the answer; the turn is stored when it succeeds. */
  private async attemptAnswer(
    actor: Actor,
    conv: ConversationRow,
    agent: AgentConfig | null,
    userMessage: MessageRow,
    replyId: string,
    routed: RoutingDecision,
    localOnly: boolean,
    signal: AbortSignal,
  ): Promise<{ ok: true } | { ok: false; err: unknown; streamed: string; toolsRan: boolean }> {
    const conversationId = conv.id;
    let streamed = '';
    let toolsRan = false;
    try {
      const adapter = this.deps.providers.adapter(routed.provider);
      if (!adapter) throw new MosaicError('provider_disabled', `${routed.provider} is not enabled on this server`, { httpStatus: 503, userNotice: `${routed.provider} is not enabled on this server.` });
      const session = await this.deps.sessions.current(actor, conversationId, { agentId: agent?.id ?? null, provider: routed.provider, model: routed.model });
      await this.deps.sessions.recordModel(actor, session.id, routed.provider, routed.model);
      const credential = await this.deps.providers.credential(actor, routed.provider);
      const systemBase = routed.agent?.systemPromptOverride ?? agent?.systemPrompt ?? DEFAULT_AGENT_PROMPT;
      const tools = this.toolsFor(agent, routed);
      const history = await this.fitContext(actor, conversationId, conv, userMessage, routed, systemBase, tools.length, localOnly, session.id, agent?.id ?? null);
      await this.publish({ type: 'answer:started', conversationId, replyId, replyTo: userMessage.id, agentId: agent?.id ?? null, provider: routed.provider, model: routed.model, routing: routed });
      let lastPublish = 0;
      const interval = this.deps.settings.deltaIntervalMs ?? 150;
      const result = await runAgentTurn({
        adapter,
        model: routed.model,
        credential,
        system: history.system,
        history: history.messages,
        tools,
        maxSteps: this.deps.settings.maxToolSteps,
        context: { actor, conversationId, agentId: agent?.id ?? null },
        signal,
        onEvent: (event) => {
          if (event.type === 'tool_start') toolsRan = true;
          if (event.type !== 'text') return;
          streamed += event.delta;
          const now = Date.now();
          if (now - lastPublish >= interval) {
            lastPublish = now;
            void this.publish({ type: 'answer:delta', conversationId, replyId, text: streamed });
          }
        },
      });
      await this.storeTurn(actor, conversationId, userMessage, replyId, result, routed, session.id, agent?.id ?? null);
      return { ok: true };
    } catch (err) {
      return { ok: false, err, streamed, toolsRan };
    }
  }

  private toolsFor(agent: AgentConfig | null, routed: RoutingDecision): AgentTool[] {
    const wanted = agent?.tools ?? [];
    const allow = routed.agent?.toolAllowlist;
    return wanted.filter((name) => !allow || allow.includes(name)).map((name) => this.deps.tools.get(name)).filter((t): t is AgentTool => t !== undefined);
  }

  /**
   * The system prompt and history for this request, summarising older
   * messages first when they would pass the threshold of the model's window.
   */
  private async fitContext(
    actor: Actor,
    conversationId: string,
    conv: ConversationRow,
    userMessage: Pick<MessageRow, 'seq'>,
    routed: { provider: ProviderName; model: string },
    systemBase: string,
    toolCount: number,
    localOnly: boolean,
    sessionId: string,
    agentId: string | null,
  ) {
    const model = this.deps.directory.find(routed.provider, routed.model);
    const contextWindow = model?.contextWindow ?? 8192;
    const reserveOutput = Math.min(model?.maxOutput ?? 1024, Math.floor(contextWindow / 4));
    let summary = conv.summary;
    let through = conv.summarizedThroughSeq ?? -1;
    // Everything up to and including this question, in conversation order (not later questions).
    const all = logicalOrder(await this.deps.conversations.allMessages(actor, conversationId)).filter((m) => m.anchor <= userMessage.seq);
    for (let attempt = 0; attempt < 3; attempt++) {
      const rows = all.filter((m) => m.anchor > through);
      const system = summary ? `${systemBase}\n\nSummary of the earlier conversation:\n${summary}` : systemBase;
      const plan = planContext(rows, {
        contextWindow,
        threshold: this.deps.settings.summarizeAt,
        keepRecent: this.deps.settings.keepRecentMessages,
        fixedTokens: estimateTokens(system) + toolCount * 150,
        reserveOutput,
      });
      if (plan.toSummarize.length === 0) return { system, messages: toChatMessages(plan.keep), summarized: through };
      const next = await this.summarize(actor, conversationId, summary, plan.toSummarize, localOnly, sessionId, agentId);
      if (next === null) return { system, messages: toChatMessages(plan.keep), summarized: through };
      summary = next;
      through = (plan.toSummarize[plan.toSummarize.length - 1] as (typeof all)[number]).anchor;
      await this.deps.conversations.setSummary(actor, conversationId, summary, through);
    }
    const rows = all.filter((m) => m.anchor > through);
    return { system: summary ? `${systemBase}\n\nSummary of the earlier conversation:\n${summary}` : systemBase, messages: toChatMessages(rows), summarized: through };
  }

  /**
   * The scheduled summarization: compacts a conversation whose history has
   * passed the threshold of the model that last answered it, so its next
   * answer does not wait for a summary. Skips a conversation being answered.
   */
  async summarizeIfDue(conversationId: string, userId: string): Promise<'summarized' | 'not-needed' | 'busy' | 'gone'> {
    const actor = await this.deps.actorFor(userId);
    if (!actor) return 'gone';
    const lease = await this.deps.lock.tryAcquire(conversationId);
    if (!lease) return 'busy';
    try {
      const conv = await this.deps.conversations.get(actor, conversationId).catch(() => null);
      if (!conv) return 'gone';
      const last = conv.lastRouting as { provider?: ProviderName; model?: string } | null;
      if (!last?.provider || !last.model) return 'not-needed';
      const ordered = logicalOrder(await this.deps.conversations.allMessages(actor, conversationId));
      const newest = ordered[ordered.length - 1];
      if (!newest) return 'not-needed';
      const agent = await this.agentOf(actor, conv);
      const session = await this.deps.sessions.current(actor, conversationId, { agentId: agent?.id ?? null, provider: last.provider, model: last.model });
      const localOnly = conv.localOnly;
      const tools = (agent?.tools ?? []).filter((t) => this.deps.tools.has(t)).length;
      await this.fitContext(actor, conversationId, conv, { seq: newest.anchor }, { provider: last.provider, model: last.model }, agent?.systemPrompt ?? DEFAULT_AGENT_PROMPT, tools, localOnly, session.id, agent?.id ?? null);
      const after = await this.deps.conversations.get(actor, conversationId);
      return after.summarizedThroughSeq !== conv.summarizedThroughSeq ? 'summarized' : 'not-needed';
    } finally {
      await lease.release();
    }
  }

  /** Folds messages into the running summary with a model chosen by routing (a summarization task). */
  private async summarize(actor: Actor, conversationId: string, previous: string | null, rows: MessageRow[], localOnly: boolean, sessionId: string, agentId: string | null): Promise<string | null> {
    const transcript = rows
      .filter((r) => r.role === 'user' || r.role === 'assistant')
      .map((r) => `${r.role === 'user' ? 'User' : 'Assistant'}: ${r.content}`)
      .join('\n\n');
    const request = `Summarize this conversation.\n\n${previous ? `Previous summary:\n${previous}\n\n` : ''}New messages:\n${transcript}`;
    const routed = await this.deps.routing.route(actor, { text: request, channel: 'internal', localOnly });
    if (routed.outcome === 'refused') {
      this.deps.logger.warn({ event: 'summary.unavailable', conversationId }, routed.userNotice);
      return null;
    }
    const adapter = this.deps.providers.adapter(routed.provider);
    if (!adapter) return null;
    const result = await runAgentTurn({
      adapter,
      model: routed.model,
      credential: await this.deps.providers.credential(actor, routed.provider),
      system: SUMMARY_PROMPT,
      history: [{ role: 'user', content: request }],
      tools: [],
      maxSteps: 0,
      context: { actor, conversationId },
    });
    await this.recordCalls(actor, sessionId, result, routed.provider, conversationId, agentId, 'summary');
    const text = result.text.trim();
    return text || null;
  }

  private async recordCalls(actor: Actor, sessionId: string, result: RunnerResult, provider: ProviderName, conversationId: string, agentId: string | null, purpose: 'reply' | 'summary'): Promise<number> {
    let total = 0;
    for (const call of result.calls) {
      const cost = costUsd(this.deps.directory.find(provider, call.model), call.usage);
      total += cost;
      await this.deps.sessions.recordCall(actor, sessionId, { provider, model: call.model, purpose, ...call.usage, costUsd: cost }, { conversationId, agentId });
    }
    return total;
  }

  private async storeTurn(actor: Actor, conversationId: string, userMessage: MessageRow, replyId: string, result: RunnerResult, routed: RoutingDecision, sessionId: string, agentId: string | null): Promise<void> {
    const cost = await this.recordCalls(actor, sessionId, result, routed.provider, conversationId, agentId, 'reply');
    const usage: Usage = result.usage;
    const steps = result.messages.slice(0, -1);
    const final = result.messages[result.messages.length - 1];
    const batch: NewMessage[] = steps.map((m, i) => ({
      id: replyIdFor(`${userMessage.id}:step:${i}`),
      role: m.role === 'tool' ? 'tool' : 'assistant',
      senderId: agentId ?? 'mosaic',
      senderType: 'agent',
      content: m.content,
      contentType: 'markdown',
      channel: 'mosaic',
      replyToId: userMessage.id,
      threadId: userMessage.threadId,
      toolCalls: m.toolCalls ?? null,
      toolCallId: m.toolCallId ?? null,
      provider: routed.provider,
      model: result.model,
      metadata: { step: i },
    }));
    batch.push({
      id: replyId,
      role: 'assistant',
      senderId: agentId ?? 'mosaic',
      senderType: 'agent',
      content: final?.content ?? result.text,
      contentType: 'markdown',
      channel: 'mosaic',
      replyToId: userMessage.id,
      threadId: userMessage.threadId,
      thinking: result.thinking || null,
      provider: routed.provider,
      model: result.model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      costUsd: cost,
      routing: routed,
      metadata: { final: true, stopReason: result.stopReason, toolSteps: result.toolSteps },
    });
    const stored = await this.deps.conversations.appendAll(actor, conversationId, batch);
    await this.deps.sessions.recordMessages(actor, sessionId, 2);
    await this.deps.conversations.update(actor, conversationId, { lastRouting: { ...routed, costUsd: cost, usage } });
    const reply = stored.find((m) => m.id === replyId);
    if (reply) await this.publish({ type: 'message:new', conversationId, message: toView(reply) });
    await this.publishSessionInfo(actor, conversationId);
  }

  private async storeStopped(actor: Actor, conversationId: string, userMessage: MessageRow, replyId: string, partial: string, routed: RoutingDecision, why: string): Promise<void> {
    const [reply] = await this.deps.conversations.appendAll(actor, conversationId, [
      {
        id: replyId,
        role: 'assistant',
        senderId: 'mosaic',
        senderType: 'agent',
        content: partial ? `${partial}\n\n_${why}_` : `_${why}_`,
        contentType: 'markdown',
        channel: 'mosaic',
        replyToId: userMessage.id,
        threadId: userMessage.threadId,
        provider: routed.provider,
        model: routed.model,
        routing: routed,
        metadata: { final: true, stopped: true },
      },
    ]);
    if (reply) await this.publish({ type: 'message:new', conversationId, message: toView(reply) });
  }

  // ---- session info ---------------------------------------------------------------------------

  async sessionInfo(actor: Actor, conversationId: string): Promise<SessionInfo> {
    const conv = await this.deps.conversations.get(actor, conversationId);
    const agent = await this.agentOf(actor, conv);
    const session = await this.deps.sessions.current(actor, conversationId, { agentId: agent?.id ?? null, provider: conv.pinnedProvider, model: conv.pinnedModel });
    const { metrics } = await this.deps.sessions.get(actor, session.id);
    const last = conv.lastRouting as { provider?: string; model?: string } | null;
    return {
      conversationId,
      sessionId: session.id,
      agent: { id: agent?.id ?? null, name: agent?.name ?? 'default', displayName: agent?.displayName ?? 'Mosaic' },
      provider: conv.pinnedProvider ?? session.provider ?? last?.provider ?? null,
      model: conv.pinnedModel ?? session.model ?? last?.model ?? null,
      pinned: conv.pinnedModel !== null,
      lastRouting: conv.lastRouting,
      metrics,
    };
  }

  async publishSessionInfo(actor: Actor, conversationId: string): Promise<SessionInfo> {
    const info = await this.sessionInfo(actor, conversationId);
    await this.publish({ type: 'session:info', conversationId, info });
    return info;
  }

  private async publish(event: ConversationEvent): Promise<void> {
    try {
      await this.deps.bus.publish(event);
    } catch (err) {
      // Fan-out is best effort: the message is stored and every surface can reload it.
      this.deps.logger.warn({ event: 'bus.publish_failed', type: event.type, err: errorMessage(err) }, 'publishing a conversation event failed');
    }
  }

  /** Throws 404 unless the conversation is the actor's. */
  async require(actor: Actor, conversationId: string): Promise<ConversationRow> {
    try {
      return await this.deps.conversations.get(actor, conversationId);
    } catch {
      throw notFound('conversation');
    }
  }
}
