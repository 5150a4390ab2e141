/**
 * "A chat account was linked / unlinked": the seam where channels react —
 * the Matrix bot welcomes a person an admin linked, confirms a browser link
 * in the person's DM, removes an unlinked person from rooms, and (later)
 * invites a linked person to their personal Space.
 *
 * Every change is a job (`channel-identity-changed`), so the reaction
 * happens once, is retried while the homeserver is away, and also follows
 * changes made by the CLI in another process. Listeners must be idempotent
 * (a retried job runs them again) and check the current state (a link may
 * be undone before its job runs).
 */
import { z } from 'zod';
import { ChannelsReady } from '../channels-ready.ts';
import { defineJob } from '../jobs/job-definition.ts';

export const IDENTITY_VIAS = ['token', 'browser', 'admin', 'account-created', 'auto-provisioned', 'self'] as const;

export const identityChange = z
  .object({
    change: z.enum(['linked', 'unlinked']),
    channel: z.string().min(1).max(32),
    channelUserId: z.string().min(1).max(255),
    userId: z.uuid(),
    /** How: `token` (redeemed in the chat), `browser` (the link page), `admin` (API or CLI), `account-created` (with a new account), `auto-provisioned` (first contact from an allowed domain), `self` (unlinked by its owner). */
    via: z.enum(IDENTITY_VIAS),
    /** When the change was made (ISO): with the ids, it names this change (idempotent sends). */
    at: z.iso.datetime(),
    /** Channel-specific: where the person was talking to us (the room to confirm in). */
    context: z.record(z.string().max(64), z.string().max(255)).optional(),
  })
  .strict();
export type IdentityChange = z.infer<typeof identityChange>;

export const IDENTITY_CHANGED_JOB = defineJob({
  name: 'channel-identity-changed',
  queue: 'mosaic:channel-identities',
  description: 'Lets the chat channel react to a link or unlink (welcome or confirmation message, removal from rooms).',
  payload: identityChange,
  attempts: 8,
  backoff: { baseMs: 2000, maxMs: 120_000 },
  concurrency: 4,
});

export interface IdentityListener {
  linked?(change: IdentityChange): Promise<void>;
  unlinked?(change: IdentityChange): Promise<void>;
}

export class IdentityEvents extends ChannelsReady {
  private readonly listeners = new Map<string, IdentityListener[]>();

  /** Subscribes to one channel's changes. Several listeners run in the order they subscribed. */
  on(channel: string, listener: IdentityListener): void {
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), listener]);
  }

  /** Runs the listeners of a change; a failing one fails the job, which retries them all. */
  async deliver(change: IdentityChange): Promise<{ listeners: number }> {
    await this.channelsReady();
    const listeners = this.listeners.get(change.channel) ?? [];
    for (const l of listeners) await (change.change === 'linked' ? l.linked?.(change) : l.unlinked?.(change));
    return { listeners: listeners.length };
  }
}
