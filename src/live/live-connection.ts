/** What the live server needs of every open connection, socket or event stream. */
import type { LiveIdentity } from './live-auth.ts';

/** Close codes: 1012 the server restarts (reconnect), 1008 a broken rule (flood, slow consumer), 4001 the credential is no longer valid. */
export const CLOSE = { restart: 1012, policy: 1008, unauthorized: 4001 } as const;

export interface LiveConnection {
  readonly id: string;
  readonly kind: 'socket' | 'stream';
  readonly identity: LiveIdentity;
  /** Closing: told to go (close frame or final event sent), not yet gone. */
  readonly closing: boolean;
  /** Bytes waiting to be sent to the client. */
  readonly buffered: number;
  /** Ends the connection; the client sees the code and reason. */
  close(code: number, reason: string): void;
  /** Called every heartbeat: a socket pings (and drops a peer that did not answer the last ping); a stream writes a comment. */
  heartbeat(): void;
}

export interface LiveLimits {
  maxSubscriptionsPerSocket: number;
  sendBufferBytes: number;
  framesPerSecond: number;
  heartbeatMs: number;
  maxReplay: number;
}
