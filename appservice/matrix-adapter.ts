/**
 * The Matrix channel as an IChannelAdapter (seed M7-001): connects the
 * appservice listener, the event processor and the reply streamer; reports
 * health from the homeserver's reachability and the appservice ping; sends
 * ChannelMessages to rooms; maps Matrix users to Mosaic users.
 */
import type { IChannelAdapter, AdapterHealth } from '../src/protocol/channel-adapter.ts';
import { ChannelConnectError, ChannelSendError } from '../src/protocol/channel-errors.ts';
import type { ChannelMessage } from '../src/protocol/channel-message.ts';
import type { Logger } from '../src/logging.ts';
import { errorMessage } from '../src/errors.ts';
import type { DeliveryRecovery } from './outbound/delivery-recovery.ts';
import type { EventProcessor } from './transport/event-processor.ts';
import type { Ghosts } from './identity/ghosts.ts';
import type { IdentityService } from './identity/identities.ts';
import type { MatrixClient } from './transport/matrix-client.ts';
import type { Registration } from './transport/registration.ts';
import type { ReplyStreamer } from './outbound/reply-streamer.ts';
import type { RoomManager } from './rooms/room-manager.ts';
import { createAppserviceApp, listen } from './transport/transaction-listener.ts';

export interface MatrixAdapterDeps {
  registration: Registration;
  client: MatrixClient;
  ghosts: Ghosts;
  identities: IdentityService;
  manager: RoomManager;
  processor: EventProcessor;
  streamer: ReplyStreamer;
  recovery: DeliveryRecovery;
  /** How often undelivered answers are looked for (default 60 s). */
  recoveryIntervalMs?: number;
  host: string;
  port: number;
  maxBodyBytes: number;
  logger: Logger;
  /** Where stale events are picked up again (crashed replicas). */
  sweepIntervalMs?: number;
}

const HEALTH_CACHE_MS = 5000;

export class MatrixAdapter implements IChannelAdapter {
  readonly name = 'matrix';
  private listener: Awaited<ReturnType<typeof listen>> | null = null;
  private connecting: Promise<void> | null = null;
  private handler: ((msg: ChannelMessage) => Promise<void>) | null = null;
  private lastHealth: { at: number; value: AdapterHealth } | null = null;
  private pings = 0;

  constructor(private readonly d: MatrixAdapterDeps) {}

  /** Where the appservice listens (for logs and tests). */
  get url(): string | null {
    return this.listener?.url ?? null;
  }

  /** Every ping the homeserver forwarded to us. */
  get pingsReceived(): number {
    return this.pings;
  }

  connect(): Promise<void> {
    this.connecting ??= this.doConnect().catch((err: unknown) => {
      this.connecting = null;
      throw err;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const { client, logger } = this.d;
    try {
      await Promise.race([
        client.versions(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref()),
      ]);
    } catch (err) {
      throw new ChannelConnectError('matrix', `the homeserver is not reachable (${errorMessage(err)}): start it or fix MATRIX_HOMESERVER_URL`, { cause: err });
    }
    const app = createAppserviceApp({
      hsToken: this.d.registration.hs_token,
      maxBodyBytes: this.d.maxBodyBytes,
      logger,
      handlers: {
        transaction: (txnId, hash, body) => this.d.processor.intake(txnId, hash, body),
        acknowledged: () => void this.d.processor.drain(),
        userExists: async (userId) => {
          const agentId = this.d.ghosts.agentIdOf(userId);
          const agent = agentId ? await this.d.ghosts.agent(agentId) : null;
          if (!agent) return false;
          // The spec: the appservice creates the user before answering 200.
          await this.d.ghosts.ensure(agent);
          return true;
        },
        aliasExists: async () => false,
        pinged: () => void this.pings++,
      },
    });
    try {
      this.listener = await listen(app, this.d.host, this.d.port);
    } catch (err) {
      throw new ChannelConnectError('matrix', `cannot listen on ${this.d.host}:${this.d.port} (${errorMessage(err)}): free the port or change APPSERVICE_PORT`, { cause: err });
    }
    await this.d.streamer.start();
    // Answers stored but never sent to their room (a crash, a long outage) are sent now, then periodically.
    this.d.recovery.start(this.d.recoveryIntervalMs ?? 60_000);
    // Events stored before a crash or restart are processed now.
    void this.d.processor.drain();
    this.d.processor.startSweeping(this.d.sweepIntervalMs ?? 30_000);
    logger.info({ channel: 'matrix', event: 'listening', url: this.listener.url, bot: this.d.ghosts.botUserId }, `appservice listening on ${this.listener.url}`);
  }

  async disconnect(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
    await this.d.processor.stop();
    await this.d.recovery.stop();
    await this.d.streamer.stop();
    this.connecting = null;
  }

  async health(): Promise<AdapterHealth> {
    if (this.lastHealth && Date.now() - this.lastHealth.at < HEALTH_CACHE_MS) return this.lastHealth.value;
    let value: AdapterHealth;
    try {
      if (!this.listener) value = { status: 'disconnected', detail: 'not connected' };
      else {
        await this.d.client.versions();
        try {
          await this.d.client.ping(this.d.registration.id);
          value = { status: 'connected' };
        } catch (err) {
          value = { status: 'degraded', detail: `homeserver reachable, appservice ping failed: ${errorMessage(err)}` };
        }
      }
    } catch (err) {
      value = { status: 'disconnected', detail: `homeserver unreachable: ${errorMessage(err)}` };
    }
    this.lastHealth = { at: Date.now(), value };
    return value;
  }

  /**
   * Runs the outbound recovery now instead of waiting for its interval
   * (after an outage is known to be over; tests). Resolves with how many
   * undelivered answers and notices were handed to the sender.
   */
  sweepUndelivered(): Promise<number> {
    return this.d.recovery.sweep();
  }

  onMessage(handler: (msg: ChannelMessage) => Promise<void>): void {
    this.handler = handler;
  }

  /** Called by the event handler for each inbound message, after it is stored (awaited: back-pressure). */
  async deliver(msg: ChannelMessage): Promise<void> {
    if (this.handler) await this.handler(msg);
  }

  /**
   * Sends a ChannelMessage to a room: agents speak as their ghost
   * (`metadata.agentId`, or an agent id as sender), everything else as the
   * bot; system messages are notices. The message id makes the send
   * idempotent.
   */
  async sendMessage(channelId: string, msg: ChannelMessage): Promise<void> {
    if (!channelId.startsWith('!')) throw new ChannelSendError('matrix', `"${channelId}" is not a Matrix room id`);
    const agentId = typeof msg.metadata.agentId === 'string' ? msg.metadata.agentId : msg.senderType === 'agent' && /^[0-9a-f-]{36}$/.test(msg.senderId) ? msg.senderId : null;
    const asUser = agentId ? ((await this.d.ghosts.ensureById(agentId)) ?? this.d.ghosts.botUserId) : this.d.ghosts.botUserId;
    if (asUser !== this.d.ghosts.botUserId) await this.d.manager.ensureJoined(channelId, asUser);
    const msgtype = msg.senderType === 'system' ? 'm.notice' : 'm.text';
    let text: string;
    let plain = false;
    if (msg.contentType === 'code') {
      const language = typeof msg.metadata.language === 'string' && /^[\w+#.-]+$/.test(msg.metadata.language) ? msg.metadata.language : '';
      text = `\`\`\`${language}\n${msg.content}\n\`\`\``;
    } else if (msg.contentType === 'markdown') text = msg.content;
    else if (msg.contentType === 'image' || msg.contentType === 'file') {
      const links = (msg.attachments ?? []).map((a) => `${a.name}: ${a.url.startsWith('data:') ? '(inline data)' : a.url}`).join('\n');
      text = [msg.content, links].filter(Boolean).join('\n') || '(attachment)';
      plain = true;
    } else {
      text = msg.content;
      plain = true;
    }
    let relatesTo: Record<string, unknown> | undefined;
    if (msg.replyToId) {
      const eventId = typeof msg.metadata.inReplyToEvent === 'string' ? msg.metadata.inReplyToEvent : null;
      if (eventId) relatesTo = { 'm.in_reply_to': { event_id: eventId } };
    }
    if (msg.threadId) relatesTo = { rel_type: 'm.thread', event_id: msg.threadId, is_falling_back: true, 'm.in_reply_to': { event_id: msg.threadId } };
    const { refused } = await this.d.manager.sendText(channelId, asUser, text, `send:${msg.id}`, { msgtype, plain, ...(relatesTo ? { relatesTo } : {}) });
    if (refused !== null) this.d.logger.warn({ channel: 'matrix', event: 'send.fallback', messageId: msg.id, roomId: channelId, err: errorMessage(refused) }, 'the homeserver refused the message; it was sent as plain text');
  }

  mapIdentity(channelUserId: string): Promise<string | null> {
    return this.d.identities.mapIdentity(channelUserId);
  }
}
