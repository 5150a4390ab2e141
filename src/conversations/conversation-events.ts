/**
 * Publishing conversation events from the services. Fan-out is best effort:
 * every event follows a database write, so a surface that misses one can
 * reload what was stored.
 */
import type { Logger } from '../logging.ts';
import { OutageLog } from '../outage-log.ts';
import type { ConversationBus, ConversationEvent, StoredMessageView } from './conversation-bus.ts';
import type { AppendedMessage, MessageRow } from './conversation-store.ts';

export function toView(row: MessageRow | AppendedMessage): StoredMessageView {
  return {
    id: row.id,
    conversationId: row.conversationId,
    seq: row.seq,
    ...('prevSeq' in row && row.prevSeq !== undefined ? { prevSeq: row.prevSeq } : {}),
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
    ...(row.inputTokens !== null || row.outputTokens !== null ? { usage: { inputTokens: row.inputTokens ?? 0, outputTokens: row.outputTokens ?? 0, costUsd: row.costUsd } } : {}),
    metadata: row.metadata,
    createdAt: row.createdAt.toISOString(),
  };
}

export class ConversationEvents {
  private readonly outage: OutageLog;
  private lastTry = 0;

  constructor(
    readonly bus: ConversationBus,
    logger: Logger,
  ) {
    this.outage = new OutageLog(logger, { what: 'the conversation bus (Valkey)', event: 'bus.publish' });
  }

  async publish(event: ConversationEvent): Promise<void> {
    // While the bus is out, one try a second finds when it is back; the others skip at once instead of
    // holding a request for the command timeout (surfaces resync from the database).
    if (this.outage.active && Date.now() - this.lastTry < 1000) return;
    this.lastTry = Date.now();
    try {
      await this.bus.publish(event);
      this.outage.succeeded();
    } catch (err) {
      // Logged once per outage; live surfaces resync from the database when the bus is back.
      this.outage.failed(err, { type: event.type });
    }
  }

  /** A message just stored, for every surface of its conversation. */
  messageStored(row: AppendedMessage): Promise<void> {
    return this.publish({ type: 'message:new', conversationId: row.conversationId, message: toView(row) });
  }
}
