/**
 * The live surfaces of one replica: the WebSocket at /api/socket (on the
 * HTTP server's upgrade), the event streams, socket tickets. It keeps the
 * open connections, and on a timer pings them (dead peers dropped),
 * re-counts them in Valkey (the per-user limit holds across replicas) and
 * re-checks their credentials (a revoked token, a disabled or deleted user
 * is cut within `authRecheckMs`). On shutdown every socket is closed with
 * 1012 and a reconnect hint.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { ipKeyGenerator, type Store } from 'express-rate-limit';
import { WebSocketServer } from 'ws';
import type { MosaicConfig } from '../config/schema.ts';
import type { ConversationServices } from '../conversations/conversation-services.ts';
import type { Logger } from '../logging.ts';
import { errorMessage, isMosaicError, MosaicError, unauthorized } from '../errors.ts';
import { created, defineRoute, type RouteGroup } from '../http/route-spec.ts';
import { errorBody } from '../http/edge.ts';
import type { ConnectionRegistry } from './connection-registry.ts';
import { eventStreamRoutes } from './event-stream.ts';
import { credentialKey, type LiveAuth, type LiveAuthenticator, type LiveIdentity } from './live-auth.ts';
import { CLOSE, type LiveConnection, type LiveLimits } from './live-connection.ts';
import type { LiveHub } from './live-hub.ts';
import { SocketConnection } from './socket-connection.ts';
import type { SocketTickets } from './socket-tickets.ts';
import { FrameCounter } from './frame-counter.ts';

export const SOCKET_PATH = '/api/socket';

export interface LiveServerOptions {
  config: MosaicConfig['live'];
  hub: LiveHub;
  conversations: ConversationServices;
  auth: LiveAuth;
  /** How a ticket is asked for: a bearer token only (a ticket cannot buy another). */
  ticketAuth: LiveAuthenticator;
  tickets: SocketTickets;
  registry: ConnectionRegistry;
  logger: Logger;
}

export class LiveServer {
  readonly limits: LiveLimits;
  /** Frames written by this replica, read by the metrics at scrape time. */
  readonly frames = new FrameCounter();
  private readonly connections = new Set<LiveConnection>();
  private readonly wss: WebSocketServer;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private rateLimit: { store: Store; perMinute: number } | null = null;

  constructor(private readonly o: LiveServerOptions) {
    const c = o.config;
    this.limits = { maxSubscriptionsPerSocket: c.maxSubscriptionsPerSocket, sendBufferBytes: c.sendBufferBytes, framesPerSecond: c.framesPerSecond, heartbeatMs: c.heartbeatMs, maxReplay: c.maxReplay };
    // No compression: it would cost work per socket for every event, and mixes secrets with attacker text.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: c.maxFrameBytes, perMessageDeflate: false });
  }

  get hub(): LiveHub {
    return this.o.hub;
  }
  get auth(): LiveAuth {
    return this.o.auth;
  }
  get conversations(): ConversationServices {
    return this.o.conversations;
  }
  get logger(): Logger {
    return this.o.logger;
  }

  /** This replica's live connections (of one user, when given), for operators and tests. */
  stats(userId?: string): { sockets: number; streams: number; closing: number; bufferedBytes: number } {
    const out = { sockets: 0, streams: 0, closing: 0, bufferedBytes: 0 };
    for (const c of this.connections) {
      if (userId !== undefined && c.identity.actor.userId !== userId) continue;
      out.bufferedBytes += c.buffered;
      if (c.closing) out.closing += 1;
      else if (c.kind === 'socket') out.sockets += 1;
      else out.streams += 1;
    }
    return out;
  }

  async start(): Promise<void> {
    await this.o.hub.start();
    const every = (ms: number, fn: () => Promise<void> | void) => {
      const t = setInterval(() => void Promise.resolve(fn()).catch((err: unknown) => this.o.logger.warn({ event: 'live.timer_failed', err: errorMessage(err) }, 'live housekeeping failed')), ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.config.heartbeatMs, () => this.heartbeat());
    every(this.o.config.authRecheckMs, () => this.recheck());
  }

  /**
   * Takes the HTTP server's upgrades to /api/socket; any other upgrade is
   * refused. `rateLimit` is the API's limiter store (already set up by the
   * app): an upgrade counts as one request of its client, as on /api.
   */
  attach(server: Server, rateLimit?: { store: Store; perMinute: number }): void {
    this.rateLimit = rateLimit ?? null;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      this.upgrade(req, socket, head).catch((err: unknown) => {
        const e = isMosaicError(err) ? err : new MosaicError('internal', 'internal error; the server log has the details');
        if (!isMosaicError(err)) this.o.logger.error({ event: 'live.upgrade_failed', err: errorMessage(err) }, 'socket upgrade failed');
        refuse(socket, e.httpStatus, e.code, e.message, req.headers.authorization !== undefined || /[?&]ticket=/.test(req.url ?? ''));
      });
    });
  }

  /** Declared routes (src/http/route-spec.ts): the ticket, the event stream, and what a plain GET of the socket's path gets. */
  routes(): RouteGroup[] {
    return [
      {
        path: '/socket',
        tag: 'Live',
        description: 'The WebSocket at `/api/socket` (its frames, resume and limits: docs/live.md) and the event streams of conversations.',
        routes: [
          defineRoute({
            method: 'get',
            path: '/',
            summary: 'The WebSocket (upgrade only)',
            description: 'Connect with `Upgrade: websocket` and `Authorization: Bearer <token>`, or `?ticket=` from `POST /api/socket/ticket`. A plain GET is 426.',
            auth: 'public',
            responses: { 101: { description: 'Switching Protocols: the socket (frames in docs/live.md).' } },
            handle: async () => {
              throw new MosaicError('upgrade_required', `${SOCKET_PATH} is a WebSocket: connect with "Upgrade: websocket" (see docs/live.md)`, { httpStatus: 426 });
            },
          }),
          defineRoute({
            method: 'post',
            path: '/ticket',
            summary: 'A single-use ticket for a browser to open a socket or event stream',
            description:
              'Browsers cannot set headers on a WebSocket or an EventSource; a long-lived token never goes in a URL. The ticket works once, lives `live.ticketTtlSeconds`, is stored only as its hash, and stands for the token that bought it (revoking that token closes what it opened). Bought with a personal access token, never with a ticket.',
            auth: 'user',
            responses: { 201: { description: 'The ticket.', body: z.object({ ticket: z.string(), expiresInSeconds: z.number().int(), socketPath: z.string().describe('Where to open the socket with it.') }) } },
            handle: async (_input, { req }) => {
              const identity = await this.o.ticketAuth.identify(req, new URL(req.url, 'http://live.invalid'));
              if (!identity) throw unauthorized('a ticket is bought with a personal access token: send it as "Authorization: Bearer <token>"');
              const ticket = await this.o.tickets.issue({ userId: identity.actor.userId, credential: identity.credential });
              return created({ ticket, expiresInSeconds: this.o.tickets.ttlSeconds, socketPath: `${SOCKET_PATH}?ticket=${ticket}` });
            },
          }),
        ],
      },
      eventStreamRoutes(this),
    ];
  }

  /** Counts a connection in (per user, across replicas), then tracks it; throws 429 past the limit. */
  async admit(connection: LiveConnection): Promise<void> {
    await this.reserve(connection.identity, connection.id);
    this.connections.add(connection);
  }

  release(connection: LiveConnection): void {
    this.connections.delete(connection);
    this.unreserve(connection.identity, connection.id);
  }

  private async reserve(identity: LiveIdentity, id: string): Promise<void> {
    if (this.stopping) throw new MosaicError('server_restarting', 'the server is shutting down; reconnect in a moment', { httpStatus: 503, retryable: true });
    if (!(await this.o.registry.admit(identity.actor.userId, id))) {
      throw new MosaicError('too_many_connections', `a user may have ${this.o.config.maxSocketsPerUser} sockets and event streams open at once; close one first`, { httpStatus: 429 });
    }
  }

  private unreserve(identity: LiveIdentity, id: string): void {
    void this.o.registry.release(identity.actor.userId, id).catch(() => undefined);
  }

  /** Once; a second call waits for the first. */
  stop(): Promise<void> {
    return (this.stopped ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const c of [...this.connections]) c.close(CLOSE.restart, 'server restarting: reconnect and resubscribe with afterSeq');
    this.o.hub.stop();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://live.invalid').pathname;
    } catch {
      throw new MosaicError('bad_request', 'the request URL cannot be read', { httpStatus: 400 });
    }
    if (path !== SOCKET_PATH) throw new MosaicError('not_found', `no WebSocket at ${path}; the socket is ${SOCKET_PATH}`, { httpStatus: 404 });
    if (this.rateLimit) {
      // As the app's limiter: counted per client address; a Valkey failure lets the request pass.
      const hits = await Promise.resolve(this.rateLimit.store.increment(ipKeyGenerator(clientAddress(req)))).then((r) => r.totalHits, () => 0);
      if (hits > this.rateLimit.perMinute) throw new MosaicError('rate_limited', 'too many requests; slow down and retry in a minute', { httpStatus: 429 });
    }
    const identity = await this.o.auth.identify(req);
    const id = randomUUID();
    await this.reserve(identity, id);
    if (socket.destroyed) {
      this.unreserve(identity, id);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new SocketConnection(id, identity, ws, socket, { limits: this.limits, hub: this.o.hub, conversations: this.o.conversations, logger: this.o.logger, frames: this.frames, onClosed: (c) => this.release(c) });
      this.connections.add(connection);
      if (this.stopping) connection.close(CLOSE.restart, 'server restarting: reconnect and resubscribe with afterSeq');
    });
  }

  private async heartbeat(): Promise<void> {
    for (const c of this.connections) c.heartbeat();
    await this.o.registry.refresh([...this.connections].map((c) => ({ userId: c.identity.actor.userId, connectionId: c.id })));
  }

  private async recheck(): Promise<void> {
    if (this.connections.size === 0) return;
    const open = [...this.connections];
    const valid = await this.o.auth.stillValid(open.map((c) => c.identity.credential));
    for (const c of open) {
      if (valid.has(credentialKey(c.identity.credential))) continue;
      this.o.logger.info({ event: 'live.credential_invalid', connection: c.id, userId: c.identity.actor.userId }, 'live connection closed: its credential is no longer valid');
      c.close(CLOSE.unauthorized, 'unauthorized: the token was revoked or the user disabled');
    }
  }
}

/**
 * The client's address as the app sees it (`trust proxy: loopback`): a
 * proxy on this host may name the client in X-Forwarded-For; nobody else may.
 */
function clientAddress(req: IncomingMessage): string {
  const peer = req.socket.remoteAddress ?? '';
  const forwarded = req.headers['x-forwarded-for'];
  if (!forwarded || !/^(127\.|::1$|::ffff:127\.)/.test(peer)) return peer;
  const hops = String(forwarded).split(',').map((h) => h.trim()).filter(Boolean);
  return hops.at(-1) ?? peer;
}

/** Answers a refused upgrade in the one error shape (as edge.ts answers requests), then drops the connection. */
function refuse(socket: Duplex, status: number, code: string, message: string, hadCredentials: boolean): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(code, message));
  const reason = STATUS_CODES[status] ?? 'Error';
  const challenge = status === 401 ? `www-authenticate: ${hadCredentials ? 'Bearer realm="mosaic", error="invalid_token"' : 'Bearer realm="mosaic"'}\r\n` : '';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n${challenge}\r\n${body}`);
}
