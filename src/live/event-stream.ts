/**
 * Server-sent events: GET /api/conversations/:id/events, the socket's
 * events for one conversation, for curl and simple clients. Each message
 * carries its seq as the event id, so a reconnecting EventSource (or
 * `Last-Event-ID: <seq>`) resumes exactly after it; `?afterSeq=` does the
 * same for a first connection. Same authentication as the socket (bearer
 * header, or a ticket for EventSource), same buffer bound and checks.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { z } from 'zod';
import { MosaicError } from '../errors.ts';
import { parseInput } from '../http/validate.ts';
import { defineRoute, type RouteGroup } from '../http/route-spec.ts';
import { ConversationFeed } from './conversation-feed.ts';
import { encodeFrame, type EncodedFrame } from './frames.ts';
import type { LiveIdentity } from './live-auth.ts';
import { CLOSE, type LiveConnection } from './live-connection.ts';
import type { LiveServer } from './live-server.ts';
import type { FrameCounter } from './frame-counter.ts';

const seqParam = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Why a stream ended, as the last event a client sees. */
const endCodes: Record<number, string> = { [CLOSE.restart]: 'server_restarting', [CLOSE.policy]: 'policy', [CLOSE.unauthorized]: 'unauthorized' };

class EventStream implements LiveConnection {
  readonly kind = 'stream';
  private ended = false;
  private started = false;

  constructor(
    readonly id: string,
    readonly identity: LiveIdentity,
    private readonly res: Response,
    private readonly sendBufferBytes: number,
    private readonly frames: FrameCounter,
  ) {}

  get closing(): boolean {
    return this.ended;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // EventSource reconnects after this many ms, sending the last id it saw.
    this.res.write('retry: 1000\n\n');
  }

  send(frame: EncodedFrame): void {
    if (this.ended) return;
    this.start();
    const text = `${frame.seq === undefined ? '' : `id: ${frame.seq}\n`}event: ${frame.type}\ndata: ${frame.json}\n\n`;
    if (this.res.writableLength + Buffer.byteLength(text) > this.sendBufferBytes) {
      this.close(CLOSE.policy, `slow consumer: more than ${this.sendBufferBytes} bytes waiting`);
      return;
    }
    this.res.write(text);
    this.frames.count('stream', frame.type);
  }

  room(): Promise<void> {
    if (this.ended || this.res.writableLength < this.sendBufferBytes / 2) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  get buffered(): number {
    return this.res.writableLength;
  }

  close(code: number, reason: string): void {
    if (this.ended) return;
    this.start();
    this.res.write(`event: error\ndata: ${encodeFrame({ type: 'error', id: null, error: { code: endCodes[code] ?? 'closed', message: reason } }).json}\n\n`);
    this.ended = true;
    this.res.end();
    // A client that does not read must not hold the connection.
    setTimeout(() => this.res.destroy(), 5000).unref();
  }

  /** The server ended the stream's subscription (the conversation was deleted): the client should not reconnect. */
  end(conversationId: string, reason: string): void {
    if (this.ended) return;
    this.send(encodeFrame({ type: 'subscription:ended', conversationId, reason }));
    this.ended = true;
    this.res.end();
  }

  heartbeat(): void {
    if (!this.ended) {
      this.start();
      this.res.write(': ping\n\n');
    }
  }
}

export function eventStreamRoutes(live: LiveServer): RouteGroup {
  return {
    path: '/conversations',
    tag: 'Live',
    routes: [
      defineRoute({
        method: 'get',
        path: '/:id/events',
        summary: 'Follow a conversation as server-sent events',
        description:
          'The socket\'s events for one conversation (docs/live.md). Authenticate with `Authorization: Bearer <token>`, or `?ticket=` from `POST /api/socket/ticket` (EventSource cannot send headers). Each message event has its seq as the event id: `Last-Event-ID` (or `afterSeq` on a first connection) resumes exactly after it.',
        auth: 'public',
        params: z.object({ id: z.uuid({ message: 'expected a conversation id (uuid)' }) }),
        query: z.object({ afterSeq: seqParam.optional().describe('Replay the messages after this seq first.'), ticket: z.string().max(100).optional().describe('A ticket from POST /api/socket/ticket.') }).strict(),
        responses: { 200: { description: 'The event stream.', contentType: 'text/event-stream' } },
        handle: async ({ params, query }, { req, res }) => {
          const identity = await live.auth.identify(req);
          const conversationId = params.id;
          const lastEventId = req.headers['last-event-id'];
          const afterSeq = lastEventId !== undefined ? parseInput(seqParam, lastEventId, 'Last-Event-ID') : query.afterSeq;
          const stream = new EventStream(randomUUID(), identity, res, live.limits.sendBufferBytes, live.frames);
          await live.admit(stream);
          const feed = new ConversationFeed({
            hub: live.hub,
            store: live.conversations.stores.conversations,
            actor: identity.actor,
            conversationId,
            sink: stream,
            sessionId: null,
            maxReplay: live.limits.maxReplay,
            logger: live.logger,
            onEnded: (reason) => stream.end(conversationId, reason),
          });
          // The response's close: the client went away, or the stream was ended.
          res.on('close', () => {
            feed.close();
            live.release(stream);
          });
          try {
            await feed.open(afterSeq, ({ lastSeq, replayed }) => stream.send(encodeFrame({ type: 'subscribed', conversationId, lastSeq, replayed })));
          } catch (err) {
            live.release(stream);
            throw err instanceof MosaicError ? err : new MosaicError('internal', 'opening the event stream failed', { cause: err });
          }
        },
      }),
    ],
  };
}
