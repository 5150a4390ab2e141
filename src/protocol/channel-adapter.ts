/** The contract every channel driver implements (seed M7-001). */
import type { ChannelMessage } from './channel-message.ts';

export type AdapterHealth = { status: 'connected' | 'degraded' | 'disconnected'; detail?: string };

export interface IChannelAdapter {
  /** Stable lowercase id: "matrix", "tui", "web". */
  readonly name: string;
  /** Idempotent; throws a ChannelConnectError when the backend cannot be reached in time. */
  connect(): Promise<void>;
  /** Flushes in-flight sends, then releases resources. */
  disconnect(): Promise<void>;
  /** Never throws: an error is reported as `disconnected`. */
  health(): Promise<AdapterHealth>;
  /** Replaces the previous handler. The adapter awaits each call before delivering the next message. */
  onMessage(handler: (msg: ChannelMessage) => Promise<void>): void;
  /** Sends to a channel-native target; throws ChannelSendError on terminal failure. */
  sendMessage(channelId: string, msg: ChannelMessage): Promise<void>;
  /** Channel-native user → Mosaic user id, or null when not linked. */
  mapIdentity(channelUserId: string): Promise<string | null>;
}
