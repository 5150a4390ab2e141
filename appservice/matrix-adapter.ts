/**
 * The Matrix channel as an IChannelAdapter (seed M7-001): connects the
 * appservice listener, the event processor and the reply streamer; reports
 * health from the homeserver's reachability and the appservice ping; sends
 * ChannelMessages to rooms; maps Matrix users to Mosaic users.
 *
 * The homeserver is not required to start: the listener opens at once (so
 * the homeserver can push as soon as it is up), and the homeserver is
 * reached in the background — its versions, then `whoami` with the
 * as_token (is the registration loaded?) — with a capped backoff, until it
 * answers. Until then health is `disconnected`; then the bot's profile is
 * set and undelivered answers and stored events are picked up.
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
import { isMatrixError, type MatrixClient } from './transport/matrix-client.ts';
import type { Registration } from './transport/registration.ts';
import type { ReplyStreamer } from './outbound/reply-streamer.ts';
import type { RoomManager } from './rooms/room-manager.ts';
import { createAppserviceApp, listen } from './transport/transaction-listener.ts';
import type { MatrixMetrics } from './transport/matrix-metrics.ts';

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
  metrics?: MatrixMetrics;
  logger: Logger;
  /** Where stale events are picked up again (crashed replicas). */
  sweepIntervalMs?: number;
  /** Longest wait between attempts to reach the homeserver (from 1 s, doubling). */
  reconnectMaxMs: number;
  /** Runs once the homeserver has been reached (the bot's profile). */
  onReachable?(): Promise<void>;
}

const HEALTH_CACHE_MS = 5000;
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class MatrixAdapter implements IChannelAdapter {
  readonly name = 'matrix';
  private listener: Awaited<ReturnType<typeof listen>> | null = null;
  private connecting: Promise<void> | null = null;
  private handler: ((msg: ChannelMessage) => Promise<void>) | null = null;
  private lastHealth: { at: number; value: AdapterHealth } | null = null;
  private pings = 0;
  /** Null once the homeserver has answered; otherwise why it has not. */
  private unreachable: string | null = 'not reached yet';
  private reaching: { abort: AbortController; done: Promise<void> } | null = null;

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

  /** Whether the homeserver has been reached (it answers, and knows the as_token). */
  get homeserverReached(): boolean {
    return this.unreachable === null;
  }

  /** One attempt: null when the homeserver answers and knows our as_token, else why not. */
  private async probe(): Promise<string | null> {
    try {
      await this.d.client.versions();
    } catch (err) {
      return `the homeserver at its URL is not reachable (${errorMessage(err)}): start it or fix MATRIX_HOMESERVER_URL`;
    }
    try {
      await this.d.client.whoami();
      return null;
    } catch (err) {
      if (isMatrixError(err) && err.status === 401) return `the homeserver does not know the appservice's as_token (${errorMessage(err)}): register the appservice with it (docs/matrix.md)`;
      return `the homeserver answers but not as expected (${errorMessage(err)})`;
    }
  }

  /** Tries until the homeserver is reached (1 s, doubling up to reconnectMaxMs), then runs what needed it. */
  private async reach(signal: AbortSignal, firstProblem: string): Promise<void> {
    const { logger } = this.d;
    let wait = Math.min(1000, this.d.reconnectMaxMs);
    let problem: string | null = firstProblem;
    for (let attempt = 1; problem !== null; attempt++) {
      logger.warn({ channel: 'matrix', event: 'homeserver.unreachable', attempt, retryInMs: wait, reason: problem }, `${problem}; trying again in ${wait} ms`);
      await sleep(wait, signal);
      if (signal.aborted) return;
      wait = Math.min(wait * 2, this.d.reconnectMaxMs);
      problem = await this.probe();
      this.unreachable = problem;
    }
    await this.reached();
  }

  private async reached(): Promise<void> {
    this.lastHealth = null;
    this.d.logger.info({ channel: 'matrix', event: 'homeserver.reached' }, 'the homeserver answers');
    await this.d.onReachable?.().catch((err: unknown) => this.d.logger.warn({ channel: 'matrix', event: 'homeserver.setup_failed', err: errorMessage(err) }, 'setting up after reaching the homeserver failed'));
    // What waited for the homeserver: undelivered answers, events stored meanwhile.
    void this.d.recovery.sweep();
    void this.d.processor.drain();
  }

  private async doConnect(): Promise<void> {
    const { logger } = this.d;
    const app = createAppserviceApp({
      hsToken: this.d.registration.hs_token,
      maxBodyBytes: this.d.maxBodyBytes,
      logger,
      ...(this.d.metrics ? { metrics: this.d.metrics } : {}),
      handlers: {
        transaction: (txnId, hash, body) => this.d.processor.intake(txnId, hash, body),
        acknowledged: () => void this.d.processor.drain(),
        userExists: async (userId) => {
          const agentId = this.d.ghosts.agentIdOf(userId);
          const agent = agentId ? await this.d.ghosts.agent(agentId) : null;
          if (!agent) return false;
          // The spec: the appservice creates the user before answering 200. Who asks is unknown,
          // so the profile (a private agent's name) waits for an invite its owner sends.
          await this.d.ghosts.register(agent);
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
    this.unreachable = await this.probe();
    if (this.unreachable === null) {
      await this.reached();
      return;
    }
    // Not required to start: the REST API and the other surfaces work meanwhile.
    const abort = new AbortController();
    this.reaching = { abort, done: this.reach(abort.signal, this.unreachable) };
  }

  async disconnect(): Promise<void> {
    this.reaching?.abort.abort();
    await this.reaching?.done;
    this.reaching = null;
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
      else if (this.unreachable !== null) value = { status: 'disconnected', detail: `${this.unreachable} (retrying)` };
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
