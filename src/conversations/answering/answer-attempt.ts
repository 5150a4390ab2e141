/**
 * One model's attempt at an answer: the session, the credential, the
 * fitted context and the agent's tools, then the agent turn with its text
 * streamed to every surface. The turn is stored when the model finishes;
 * a failure is returned with what had already reached anyone, so the
 * caller can decide whether another model may take over.
 */
import type { AgentConfig } from '../../agents/agent-store.ts';
import { runAgentTurn } from '../../agents/runner.ts';
import type { DelegationService } from '../../agents/delegation/delegation-service.ts';
import { rootExchange } from '../../agents/delegation/exchange.ts';
import type { InterruptBox } from '../../agents/delegation/interrupts.ts';
import type { Actor } from '../../identity/actor.ts';
import type { RoutingDecision } from '../../routing/types.ts';
import { MosaicError } from '../../errors.ts';
import type { RetryNote } from '../conversation-bus.ts';
import type { ConversationRow, MessageRow } from '../conversation-store.ts';
import type { ConversationSettings, ProviderPort } from '../ports.ts';
import type { SessionRow, SessionStore } from '../session-store.ts';
import { DEFAULT_AGENT_PROMPT, type SummaryService } from '../summary-service.ts';
import type { AnswerStream } from './answer-stream.ts';
import type { TurnRecords } from './turn-records.ts';

export type AttemptOutcome = { ok: true } | { ok: false; err: unknown; streamed: string; toolsRan: boolean };

export interface AttemptInput {
  /** The conversation's owner: the conversation, its session and its agent are reached as them. */
  actor: Actor;
  /** Who asked: their own provider key (else the system key) is used, and the calls count to their usage. */
  asker: Actor;
  conv: ConversationRow;
  agent: AgentConfig | null;
  userMessage: MessageRow;
  replyId: string;
  routed: RoutingDecision;
  signal: AbortSignal;
  /** The answer's live side, shared by its attempts. */
  stream: AnswerStream;
  /** Set when the answer is tried again after an earlier try was cut off. */
  retry?: RetryNote;
  /** A person's interrupts of the answer's agent exchange. */
  interrupts: InterruptBox;
  /** The actor's active session (null: none) as read with the turn; only on the answer's first attempt (an attempt may open one). */
  session?: SessionRow | null;
}

export class AnswerAttempts {
  constructor(
    private readonly d: {
      sessions: SessionStore;
      providers: ProviderPort;
      summaries: SummaryService;
      records: TurnRecords;
      /** Offers `delegate` and `ask_agent` to agents allowed to hand work on. */
      delegation: DelegationService;
      settings: Pick<ConversationSettings, 'maxToolSteps'>;
    },
  ) {}

  async run(input: AttemptInput): Promise<AttemptOutcome> {
    const { actor, asker, conv, agent, userMessage, replyId, routed, signal, stream, retry, interrupts } = input;
    const conversationId = conv.id;
    let streamed = '';
    let toolsRan = false;
    try {
      const adapter = this.d.providers.adapter(routed.provider);
      if (!adapter) throw new MosaicError('provider_disabled', `${routed.provider} is not enabled on this server`, { httpStatus: 503, userNotice: `${routed.provider} is not enabled on this server.` });
      const opened = await this.d.sessions.current(actor, conversationId, { agentId: agent?.id ?? null, provider: routed.provider, model: routed.model }, input.session);
      await this.d.sessions.recordModel(actor, opened, routed.provider, routed.model);
      const session = { ...opened, provider: routed.provider, model: routed.model };
      // The asker's own key, never the owner's for someone else's message (without one: the system key).
      const credential = await this.d.providers.credential(asker, routed.provider);
      const tools = agent ? await this.d.delegation.toolsFor(actor, agent, routed) : [];
      const context = await this.d.summaries.fit(actor, {
        conv,
        throughSeq: userMessage.seq,
        model: routed,
        systemBase: routed.agent?.systemPromptOverride ?? agent?.systemPrompt ?? DEFAULT_AGENT_PROMPT,
        toolCount: tools.length,
        localOnly: conv.localOnly,
        sessionId: session.id,
        agentId: agent?.id ?? null,
      });
      await stream.started({ agentId: agent?.id ?? null, provider: routed.provider, model: routed.model, routing: routed, ...(retry ? { retry } : {}) });
      const result = await runAgentTurn({
        adapter,
        model: routed.model,
        credential,
        system: context.system,
        history: context.messages,
        tools,
        maxSteps: this.d.settings.maxToolSteps,
        context: {
          actor,
          conversationId,
          agentId: agent?.id ?? null,
          sessionId: session.id,
          ...(agent ? { exchange: rootExchange({ id: replyId, conversationId, messageId: userMessage.id, threadId: userMessage.threadId, localOnly: conv.localOnly, channel: userMessage.channel, agentId: agent.id, interrupts, ...(asker === actor ? {} : { asker }) }) } : {}),
        },
        signal,
        ...(agent ? { interjections: () => interrupts.take(agent.id) } : {}),
        onEvent: (event) => {
          if (event.type === 'text') {
            streamed += event.delta;
            stream.addText(event.delta);
          } else if (event.type === 'thinking') {
            stream.addThinking(event.delta);
          } else if (event.type === 'tool_start') {
            toolsRan = true;
            stream.endStep();
          }
        },
      });
      // Every delta is out before the stored answer is published, so the deltas add up to it.
      await stream.flush();
      await this.d.records.storeTurn({ actor, asker, conversationId, userMessage, replyId, session, agent, ...(retry ? { retry } : {}) }, result, routed);
      return { ok: true };
    } catch (err) {
      await stream.flush();
      return { ok: false, err, streamed, toolsRan };
    }
  }
}
