/**
 * Sends the homeserver refused for good (M_BAD_JSON, M_TOO_LARGE,
 * M_FORBIDDEN… — see isPermanentSendError): each is recorded where an
 * operator looks — the log (`event: send.refused`), agent_logs (source
 * `matrix`), and the `mosaic_matrix_sends_refused_total` metric — with
 * what became of the message: a plain-text fallback reached the room, or
 * nothing did.
 */
import type { AgentLogEntry } from '../../src/logs/agent-log-store.ts';
import type { Logger } from '../../src/logging.ts';
import { refusalCode } from '../transport/matrix-client.ts';
import type { MatrixMetrics } from '../transport/matrix-metrics.ts';

export type RefusalOutcome = 'fallback' | 'failed';

export interface Refusal {
  conversationId: string;
  messageId: string;
  roomId: string;
  userId: string | null;
  agentId: string | null;
  error: unknown;
  outcome: RefusalOutcome;
}

export class SendFailures {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: MatrixMetrics | null,
    private readonly agentLog: { append(entry: AgentLogEntry): Promise<void> } | null,
  ) {}

  async refused(r: Refusal): Promise<void> {
    const { errcode, status } = refusalCode(r.error);
    const message = r.error instanceof Error ? r.error.message : String(r.error);
    this.metrics?.refusal(errcode, r.outcome);
    const fields = { channel: 'matrix', event: 'send.refused', conversationId: r.conversationId, messageId: r.messageId, roomId: r.roomId, errcode, status, outcome: r.outcome, err: message };
    this.logger.error(fields, r.outcome === 'fallback' ? 'the homeserver refused a send; a plain-text fallback was delivered' : 'the homeserver refused a send and its fallback');
    await this.agentLog
      ?.append({
        source: 'matrix',
        event: 'send.refused',
        level: 'error',
        message: r.outcome === 'fallback' ? 'refused by the homeserver; delivered as plain text' : 'refused by the homeserver; not delivered',
        error: message.slice(0, 1000),
        userId: r.userId,
        agentId: r.agentId,
        conversationId: r.conversationId,
        data: { messageId: r.messageId, roomId: r.roomId, errcode, status, outcome: r.outcome },
      })
      .catch((err: unknown) => this.logger.warn({ channel: 'matrix', event: 'agent_log.failed', err: (err as Error).message }, 'could not write the refusal to agent_logs'));
  }
}
