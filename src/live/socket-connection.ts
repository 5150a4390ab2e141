/**
 * One WebSocket: frames in (each checked, answered by an ack, pong or
 * error carrying its id), frames out through a bounded buffer, and its
 * subscriptions. Nothing a client sends can crash it: bad JSON, binary
 * frames, unknown types and floods each get a clear error, or a close
 * with a reason.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../logging.ts';
import { errorMessage, isMosaicError, MosaicError, notFound } from '../errors.ts';
import type { ConversationServices } from '../conversations/conversation-services.ts';
import { API_CHANNEL, intakeResult, toChannelMessage } from '../http/message-intake.ts';
import { ConversationFeed } from './conversation-feed.ts';
import { ackFrame, encodeFrame, errorFrame, helloFrame, parseClientFrame, type ClientFrame, type EncodedFrame } from './frames.ts';
import type { LiveIdentity } from './live-auth.ts';
import { CLOSE, type LiveConnection, type LiveLimits } from './live-connection.ts';
import type { LiveHub } from './live-hub.ts';
import type { FrameCounter } from './frame-counter.ts';

export interface SocketOptions {
  limits: LiveLimits;
  hub: LiveHub;
  conversations: ConversationServices;
  logger: Logger;
  frames: FrameCounter;
  onClosed(connection: SocketConnection): void;
}

/** Requests one socket may have in progress (a send that runs a long command, subscribes reading the store). */
const MAX_IN_FLIGHT = 16;
const OPEN = 1;
const CLOSE_GRACE_MS = 5000;

export class SocketConnection implements LiveConnection {
  readonly kind = 'socket';
  private readonly feeds = new Map<string, ConversationFeed>();
  private answeredPing = true;
  private tokens: number;
  private refilledAt = Date.now();
  private refused = 0;
  private inFlight = 0;
  private cut = false;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.raw.uncork();
  };

  constructor(
    readonly id: string,
    readonly identity: LiveIdentity,
    private readonly ws: WebSocket,
    /** The TCP socket under `ws` (the one its upgrade took over). */
    private readonly raw: Duplex,
    private readonly o: SocketOptions,
  ) {
    this.tokens = o.limits.framesPerSecond * 2;
    ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on('pong', () => (this.answeredPing = true));
    // ws closes the socket itself after a protocol error (a frame over maxPayload: 1009).
    ws.on('error', (err) => o.logger.debug({ event: 'live.socket_error', connection: id, err: err.message }, 'socket error'));
    ws.on('close', () => this.closed());
    this.send(
      helloFrame({
        sessionId: id,
        user: { id: identity.actor.userId, username: identity.actor.username },
        heartbeatMs: o.limits.heartbeatMs,
        limits: { maxSubscriptions: o.limits.maxSubscriptionsPerSocket, framesPerSecond: o.limits.framesPerSecond, sendBufferBytes: o.limits.sendBufferBytes, maxReplay: o.limits.maxReplay },
      }),
    );
  }

  get subscriptions(): number {
    return this.feeds.size;
  }

  get closing(): boolean {
    return this.cut;
  }

  send(frame: EncodedFrame): void {
    if (this.cut || this.ws.readyState !== OPEN) return;
    const bytes = frame.wire();
    if (this.ws.bufferedAmount + bytes.length > this.o.limits.sendBufferBytes) {
      // A consumer that does not read would make the server hold every event for it.
      this.o.logger.info({ event: 'live.slow_consumer', connection: this.id, userId: this.identity.actor.userId, buffered: this.ws.bufferedAmount }, 'socket cut: slow consumer');
      this.close(CLOSE.policy, `slow consumer: more than ${this.o.limits.sendBufferBytes} bytes waiting`);
      return;
    }
    // The frame was built once for every socket; written as is. ws writes its own frames (pings, close)
    // straight to the same socket too (no compression, so it never queues), so the order holds, and
    // bufferedAmount counts these bytes.
    // Frames of one burst (Valkey hands several events over in one read) leave in one write.
    if (!this.corked) {
      this.corked = true;
      this.raw.cork();
      queueMicrotask(this.uncork);
    }
    this.raw.write(bytes);
    this.o.frames.count('socket', frame.type);
  }

  room(): Promise<void> {
    if (this.cut || this.ws.bufferedAmount < this.o.limits.sendBufferBytes / 2) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.raw.off('drain', done);
        this.raw.off('close', done);
        resolve();
      };
      this.raw.on('drain', done);
      this.raw.on('close', done);
    });
  }

  /** Bytes waiting to be sent (for stats). */
  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.cut) return;
    this.cut = true;
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
    if (this.ws.readyState !== OPEN) {
      this.ws.terminate();
      return;
    }
    this.ws.close(code, reason);
    // A peer that does not read never answers the close: it must not hold its place for long.
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  heartbeat(): void {
    if (!this.answeredPing) {
      this.o.logger.info({ event: 'live.dead_peer', connection: this.id }, 'socket dropped: no pong');
      this.ws.terminate();
      return;
    }
    this.answeredPing = false;
    if (this.ws.readyState === OPEN) this.ws.ping();
  }

  private closed(): void {
    this.cut = true;
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
    this.o.onClosed(this);
  }

  /** A token bucket: framesPerSecond, bursts of twice that. */
  private allow(): boolean {
    const now = Date.now();
    const rate = this.o.limits.framesPerSecond;
    this.tokens = Math.min(rate * 2, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refused = 0;
      return true;
    }
    return false;
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.cut) return;
    if (!this.allow()) {
      if (++this.refused > this.o.limits.framesPerSecond * 2) {
        this.close(CLOSE.policy, 'flood: too many frames');
        return;
      }
      this.send(errorFrame(null, 'rate_limited', `more than ${this.o.limits.framesPerSecond} frames per second; slow down`));
      return;
    }
    if (isBinary) {
      this.send(errorFrame(null, 'binary_frame', 'frames are JSON text; binary frames are not accepted'));
      return;
    }
    const parsed = parseClientFrame(data.toString('utf8'));
    if ('problem' in parsed) {
      const p = parsed.problem;
      this.send(errorFrame(p.id, p.code, p.message, p.details));
      return;
    }
    const frame = parsed.frame;
    const id = frame.id ?? null;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.send(errorFrame(id, 'busy', `${MAX_IN_FLIGHT} requests are already in progress on this socket; wait for their answers`));
      return;
    }
    this.inFlight += 1;
    this.handle(frame)
      .catch((err: unknown) => {
        if (isMosaicError(err) && err.httpStatus < 500) {
          this.send(errorFrame(id, err.code, err.message, err.details));
          return;
        }
        this.o.logger.error({ event: 'live.frame_failed', connection: this.id, type: frame.type, err: errorMessage(err) }, 'a socket frame failed');
        this.send(errorFrame(id, isMosaicError(err) ? err.code : 'internal', isMosaicError(err) ? err.message : 'internal error; the server log has the details'));
      })
      .finally(() => (this.inFlight -= 1));
  }

  private async handle(frame: ClientFrame): Promise<void> {
    const id = frame.id ?? null;
    const { actor } = this.identity;
    const { conversations } = this.o;
    switch (frame.type) {
      case 'ping':
        this.send(encodeFrame({ type: 'pong', id, time: new Date().toISOString() }));
        return;
      case 'subscribe':
        return this.subscribe(id, frame.conversationId, frame.afterSeq);
      case 'unsubscribe': {
        const feed = this.feeds.get(frame.conversationId);
        if (!feed) throw new MosaicError('not_subscribed', 'this socket does not follow that conversation', { httpStatus: 409 });
        feed.close();
        this.feeds.delete(frame.conversationId);
        this.send(ackFrame(id, 'unsubscribe', { conversationId: frame.conversationId }));
        return;
      }
      case 'send': {
        const { type: _t, id: _i, conversationId, ...body } = frame;
        const inbound = await conversations.inbound.receive(actor, conversationId, toChannelMessage(actor, conversationId, body), API_CHANNEL);
        this.send(ackFrame(id, 'send', { conversationId, ...intakeResult(inbound) }));
        return;
      }
      case 'stop':
        await conversations.answers.stop(actor, frame.conversationId);
        this.send(ackFrame(id, 'stop', { conversationId: frame.conversationId }));
        return;
      case 'typing':
        // Never stored: relayed once to the conversation's other sessions, which let it lapse.
        if (!this.feeds.has(frame.conversationId)) await conversations.stores.conversations.get(actor, frame.conversationId);
        await this.o.hub.bus.publish({ type: 'typing', conversationId: frame.conversationId, sessionId: this.id, userId: actor.userId, typing: frame.typing });
        this.send(ackFrame(id, 'typing', { conversationId: frame.conversationId }));
        return;
    }
  }

  private async subscribe(id: string | null, conversationId: string, afterSeq: number | undefined): Promise<void> {
    if (this.feeds.has(conversationId)) throw new MosaicError('already_subscribed', 'this socket already follows that conversation; unsubscribe first to start again from another seq', { httpStatus: 409 });
    if (this.feeds.size >= this.o.limits.maxSubscriptionsPerSocket) {
      throw new MosaicError('too_many_subscriptions', `a socket follows at most ${this.o.limits.maxSubscriptionsPerSocket} conversations; unsubscribe from one first`, { httpStatus: 429 });
    }
    const feed = new ConversationFeed({
      hub: this.o.hub,
      store: this.o.conversations.stores.conversations,
      actor: this.identity.actor,
      conversationId,
      sink: this,
      sessionId: this.id,
      maxReplay: this.o.limits.maxReplay,
      logger: this.o.logger,
      onEnded: (reason) => {
        if (this.feeds.get(conversationId) === feed) this.feeds.delete(conversationId);
        this.send(encodeFrame({ type: 'subscription:ended', conversationId, reason }));
      },
    });
    this.feeds.set(conversationId, feed);
    try {
      await feed.open(afterSeq, ({ lastSeq, replayed }) => this.send(ackFrame(id, 'subscribe', { conversationId, lastSeq, replayed })));
    } catch (err) {
      if (this.feeds.get(conversationId) === feed) this.feeds.delete(conversationId);
      // Another user's conversation is not found, as over REST.
      if (isMosaicError(err) && err.httpStatus === 404) throw notFound('conversation');
      throw err;
    }
  }
}
