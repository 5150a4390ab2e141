/**
 * Keeping a conversation within its model's context window: older messages
 * are folded into a running summary (by a model routing picks for a
 * summarization task) once the history passes the configured share of the
 * window. The answering path fits every request here; the scheduled job
 * compacts idle conversations ahead of time.
 */
import { runAgentTurn } from '../agents/runner.ts';
import type { Actor } from '../identity/actor.ts';
import type { Logger } from '../logging.ts';
import type { ProviderName } from '../providers/types.ts';
import type { ModelDirectory } from '../routing/types.ts';
import type { CallLedger } from './call-ledger.ts';
import type { ConversationAgents } from './conversation-agents.ts';
import type { ConversationLock } from './conversation-lock.ts';
import type { ConversationRow, ConversationStore, MessageRow } from './conversation-store.ts';
import { estimateTokens, logicalOrder, planContext, toChatMessages } from './context-window.ts';
import type { ActorLookup, ConversationSettings, ProviderPort, RoutingPort } from './ports.ts';
import type { SessionStore } from './session-store.ts';

export const DEFAULT_AGENT_PROMPT = 'You are Mosaic, a helpful assistant. Answer clearly and concisely. Use markdown when it helps.';
const SUMMARY_PROMPT =
  'You maintain a running summary of a conversation between a user and an AI assistant. Merge the previous summary (if any) with the new messages into one concise summary that keeps names, decisions, facts, open questions and anything the assistant promised. Write it in the third person, under 300 words. Answer with the summary only.';

/** What a request is fitted for: the model, the session paying for summaries, and what besides history takes room. */
export interface FitRequest {
  conv: ConversationRow;
  /** The question being answered: later messages are left out. */
  throughSeq: number;
  model: { provider: ProviderName; model: string };
  systemBase: string;
  toolCount: number;
  localOnly: boolean;
  sessionId: string;
  agentId: string | null;
}

export interface FittedContext {
  system: string;
  messages: ReturnType<typeof toChatMessages>;
  summarized: number;
}

export class SummaryService {
  constructor(
    private readonly d: {
      conversations: ConversationStore;
      sessions: SessionStore;
      agents: ConversationAgents;
      lock: ConversationLock;
      routing: RoutingPort;
      providers: ProviderPort;
      directory: ModelDirectory;
      ledger: CallLedger;
      actorFor: ActorLookup;
      settings: ConversationSettings;
      /** Tool names an agent may be given (they take room in the request). */
      hasTool(name: string): boolean;
      logger: Logger;
    },
  ) {}

  /**
   * The system prompt and history for this request, summarising older
   * messages first when they would pass the threshold of the model's window.
   */
  async fit(actor: Actor, req: FitRequest): Promise<FittedContext> {
    const { conv } = req;
    const conversationId = conv.id;
    const model = this.d.directory.find(req.model.provider, req.model.model);
    const contextWindow = model?.contextWindow ?? 8192;
    const reserveOutput = Math.min(model?.maxOutput ?? 1024, Math.floor(contextWindow / 4));
    let summary = conv.summary;
    let through = conv.summarizedThroughSeq ?? -1;
    const withSummary = (s: string | null) => (s ? `${req.systemBase}\n\nSummary of the earlier conversation:\n${s}` : req.systemBase);
    // Everything up to and including this question, in conversation order (not later questions).
    // The conversation was read by the caller: only its messages are read here.
    const all = logicalOrder(await this.d.conversations.history(actor, conv)).filter((m) => m.anchor <= req.throughSeq);
    for (let attempt = 0; attempt < 3; attempt++) {
      const rows = all.filter((m) => m.anchor > through);
      const system = withSummary(summary);
      const plan = planContext(rows, {
        contextWindow,
        threshold: this.d.settings.summarizeAt,
        keepRecent: this.d.settings.keepRecentMessages,
        fixedTokens: estimateTokens(system) + req.toolCount * 150,
        reserveOutput,
      });
      if (plan.toSummarize.length === 0) return { system, messages: toChatMessages(plan.keep), summarized: through };
      const next = await this.summarize(actor, conversationId, summary, plan.toSummarize, req);
      if (next === null) return { system, messages: toChatMessages(plan.keep), summarized: through };
      summary = next;
      through = (plan.toSummarize[plan.toSummarize.length - 1] as (typeof all)[number]).anchor;
      await this.d.conversations.setSummary(actor, conversationId, summary, through);
    }
    const rows = all.filter((m) => m.anchor > through);
    return { system: withSummary(summary), messages: toChatMessages(rows), summarized: through };
  }

  /**
   * The scheduled summarization: compacts a conversation whose history has
   * passed the threshold of the model that last answered it, so its next
   * answer does not wait for a summary. Skips a conversation being answered.
   */
  async summarizeIfDue(conversationId: string, userId: string): Promise<'summarized' | 'not-needed' | 'busy' | 'gone'> {
    const actor = await this.d.actorFor(userId);
    if (!actor) return 'gone';
    const lease = await this.d.lock.tryAcquire(conversationId);
    if (!lease) return 'busy';
    try {
      const conv = await this.d.conversations.get(actor, conversationId).catch(() => null);
      if (!conv) return 'gone';
      const last = conv.lastRouting as { provider?: ProviderName; model?: string } | null;
      if (!last?.provider || !last.model) return 'not-needed';
      const ordered = logicalOrder(await this.d.conversations.allMessages(actor, conversationId));
      const newest = ordered[ordered.length - 1];
      if (!newest) return 'not-needed';
      const agent = await this.d.agents.of(actor, conv);
      const session = await this.d.sessions.current(actor, conversationId, { agentId: agent?.id ?? null, provider: last.provider, model: last.model });
      await this.fit(actor, {
        conv,
        throughSeq: newest.anchor,
        model: { provider: last.provider, model: last.model },
        systemBase: agent?.systemPrompt ?? DEFAULT_AGENT_PROMPT,
        toolCount: (agent?.tools ?? []).filter((t) => this.d.hasTool(t)).length,
        localOnly: conv.localOnly,
        sessionId: session.id,
        agentId: agent?.id ?? null,
      });
      const after = await this.d.conversations.get(actor, conversationId);
      return after.summarizedThroughSeq !== conv.summarizedThroughSeq ? 'summarized' : 'not-needed';
    } finally {
      await lease.release();
    }
  }

  /** Folds messages into the running summary with a model chosen by routing (a summarization task). */
  private async summarize(actor: Actor, conversationId: string, previous: string | null, rows: MessageRow[], req: FitRequest): Promise<string | null> {
    const transcript = rows
      .filter((r) => r.role === 'user' || r.role === 'assistant')
      .map((r) => `${r.role === 'user' ? 'User' : 'Assistant'}: ${r.content}`)
      .join('\n\n');
    const request = `Summarize this conversation.\n\n${previous ? `Previous summary:\n${previous}\n\n` : ''}New messages:\n${transcript}`;
    const routed = await this.d.routing.route(actor, { text: request, channel: 'internal', localOnly: req.localOnly });
    if (routed.outcome === 'refused') {
      this.d.logger.warn({ event: 'summary.unavailable', conversationId }, routed.userNotice);
      return null;
    }
    const adapter = this.d.providers.adapter(routed.provider);
    if (!adapter) return null;
    const result = await runAgentTurn({
      adapter,
      model: routed.model,
      credential: await this.d.providers.credential(actor, routed.provider),
      system: SUMMARY_PROMPT,
      history: [{ role: 'user', content: request }],
      tools: [],
      maxSteps: 0,
      context: { actor, conversationId },
    });
    await this.d.ledger.record(actor, req.sessionId, result, routed.provider, { conversationId, agentId: req.agentId }, 'summary');
    const text = result.text.trim();
    return text || null;
  }
}
