/**
 * Storing what an answer produced: the whole turn (tool steps and the final
 * reply) in one transaction with its usage and cost, or the partial text of
 * a stopped answer. Each stored reply is published.
 */
import type { RunnerResult } from '../../agents/runner.ts';
import type { Actor } from '../../identity/actor.ts';
import type { RoutingDecision } from '../../routing/types.ts';
import type { CallLedger } from '../call-ledger.ts';
import type { RetryNote } from '../conversation-bus.ts';
import type { ConversationEvents } from '../conversation-events.ts';
import type { ConversationStore, MessageRow, NewMessage } from '../conversation-store.ts';
import { replyIdFor } from '../ids.ts';
import type { AgentConfig } from '../../agents/agent-store.ts';
import { sessionInfoOf, type SessionInfoService } from '../session-info.ts';
import type { SessionRow } from '../session-store.ts';
import type { TurnStore } from '../turn-store.ts';

/** The answer being written: who asked, under which id the reply is stored, and who pays. */
export interface AnswerScope {
  /** The conversation's owner: the conversation is written as them. */
  actor: Actor;
  /** Who asked, when not the owner (a team member in a shared conversation): the calls count to their usage. */
  asker?: Actor;
  conversationId: string;
  userMessage: MessageRow;
  replyId: string;
  /** The session as the attempt left it (its model recorded). */
  session: SessionRow;
  agent: AgentConfig | null;
  /** This answer is a retry after an earlier try was cut off: recorded with the reply. */
  retry?: RetryNote;
}

export class TurnRecords {
  constructor(
    private readonly d: {
      conversations: ConversationStore;
      turns: TurnStore;
      ledger: CallLedger;
      sessionInfo: SessionInfoService;
      events: ConversationEvents;
    },
  ) {}

  async storeTurn(scope: AnswerScope, result: RunnerResult, routed: RoutingDecision): Promise<void> {
    const { actor, conversationId, userMessage, replyId, session, agent } = scope;
    const agentId = agent?.id ?? null;
    const { calls, total: cost } = this.d.ledger.price(result, routed.provider, 'reply');
    const usage = result.usage;
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
      metadata: { final: true, stopReason: result.stopReason, toolSteps: result.toolSteps, ...(scope.retry ? { retry: scope.retry } : {}) },
    });
    // One transaction: the messages, the usage of each call, the session's metrics, the last routing.
    const { conv, stored, metrics } = await this.d.turns.storeAnswer(actor, {
      conversationId,
      messages: batch,
      lastRouting: { ...routed, costUsd: cost, usage },
      session,
      agentId,
      calls,
      messageCount: 2,
      ...(scope.asker && scope.asker.userId !== actor.userId ? { payerId: scope.asker.userId } : {}),
    });
    // Every stored message goes out (the tool steps too), so live surfaces hold what a reload would show.
    for (const row of stored) await this.d.events.messageStored(row);
    const reply = stored.find((m) => m.id === replyId);
    if (reply) await this.d.events.publish({ type: 'answer:final', conversationId, replyId, replyTo: userMessage.id, messageSeq: reply.seq });
    // Everything the session info says was just read or written: published without reading it again.
    await this.d.sessionInfo.publishInfo(sessionInfoOf(conv, agent, session, metrics));
  }

  /** A stopped or taken-over answer keeps what was written, ending with why. */
  async storeStopped(scope: Pick<AnswerScope, 'actor' | 'conversationId' | 'userMessage' | 'replyId'>, partial: string, routed: RoutingDecision, why: string): Promise<void> {
    const { actor, conversationId, userMessage, replyId } = scope;
    const [reply] = await this.d.conversations.appendAll(actor, conversationId, [
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
    if (reply) await this.d.events.messageStored(reply);
  }
}
