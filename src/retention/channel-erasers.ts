/**
 * How retention reaches the channels that keep their own copy of messages
 * (the Matrix homeserver keeps every event). A channel registers an eraser
 * when it starts; src/ never knows how a channel removes anything.
 *
 * Lockstep: Mosaic deletes a message from its store only after every
 * expected channel reported its side gone. A channel that is configured
 * but has not registered (not started yet) holds the purge back entirely.
 */
import type { PurgeMessage } from './retention-store.ts';
import type { RoomKind } from './room-kinds.ts';

export type EraseOutcome = { ok: true; events: number } | { ok: false; error: string };

/**
 * Room kinds only a channel keeps: no conversation rows in Mosaic lead to
 * them (agent rooms, where agents' ghosts show delegation steps), so the
 * purge asks each channel to remove their old events itself.
 */
export const CHANNEL_ONLY_KINDS = ['agent'] as const satisfies readonly RoomKind[];
export type ChannelOnlyKind = (typeof CHANNEL_ONLY_KINDS)[number];

/** One channel-only room after its purge: what was removed, and what the channel refused (kept, tried again next run). */
export interface RoomPurgeOutcome {
  roomId: string;
  events: number;
  failed: number;
  /** The first refusal, for the log and the job's detail. */
  error?: string;
}

export interface ChannelEraser {
  readonly channel: string;
  /**
   * Removes these messages' traces on the channel (for Matrix: redacts the
   * events they were received or sent as, and their edits). Answers every
   * id: `ok` when nothing of it is left there (or it never was there).
   * Idempotent: a retry of an erased message changes nothing.
   */
  eraseMessages(batch: PurgeMessage[], signal: AbortSignal): Promise<Map<string, EraseOutcome>>;
  /**
   * After a conversation's expired messages are gone from both sides: lets
   * the channel drop what it still holds of them (Synapse's purge history).
   * `before`: nothing Mosaic still keeps of the conversation is older.
   * Failing here loses nothing: it is retried by the next run.
   */
  compact?(conversationId: string, before: Date): Promise<void>;
  /**
   * A deleted conversation: everything of it on the channel goes (for
   * Matrix: every event of its room redacted, then the room closed and
   * left). Idempotent; throws when it could not finish.
   */
  eraseConversation(conversationId: string, signal: AbortSignal): Promise<{ events: number }>;
  /**
   * The channel's own rooms of `kind` (see CHANNEL_ONLY_KINDS): every
   * event sent before `before` is removed (Matrix: redacted), room by room,
   * each reported to `done` as it finishes. There is no copy in Mosaic to
   * keep in step, so an event the channel refused simply stays until a
   * later run removes it. Idempotent.
   */
  purgeRooms?(kind: ChannelOnlyKind, before: Date, signal: AbortSignal, done: (room: RoomPurgeOutcome) => Promise<void>): Promise<void>;
}

export class ChannelErasers {
  private readonly erasers = new Map<string, ChannelEraser>();

  /** `expected`: channels configured in this installation, whose eraser must be there before anything is deleted. */
  constructor(private readonly expected: readonly string[]) {}

  register(eraser: ChannelEraser): void {
    this.erasers.set(eraser.channel, eraser);
  }

  unregister(channel: string): void {
    this.erasers.delete(channel);
  }

  /** The expected channels that have no eraser yet (the purge waits for them). */
  missing(): string[] {
    return this.expected.filter((c) => !this.erasers.has(c));
  }

  all(): ChannelEraser[] {
    return [...this.erasers.values()];
  }
}
