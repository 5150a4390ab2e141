/**
 * `channel_identities`: which chat account (a Matrix user id) belongs to
 * which Mosaic account. One chat account belongs to at most one Mosaic
 * account (the primary key); a Mosaic account may have several.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { channelIdentities, users } from '../db/schema.ts';
import { notFound } from '../errors.ts';
import type { Actor } from './actor.ts';

export interface ChannelLink {
  channel: string;
  channelUserId: string;
  linkedAt: Date;
}

export interface ChannelOwner {
  userId: string;
  username: string;
  disabled: boolean;
}

/** What `link` did: a new row, the row that was there for this account, or another account holds the chat account. */
export type LinkOutcome = { outcome: 'linked'; linkedAt: Date } | { outcome: 'already'; linkedAt: Date } | { outcome: 'taken'; owner: ChannelOwner };

export class ChannelIdentityStore {
  constructor(private readonly db: Db) {}

  /** The Mosaic account a chat account is linked to (disabled ones included), or null. */
  async ownerOf(channel: string, channelUserId: string): Promise<ChannelOwner | null> {
    const [row] = await this.db
      .select({ userId: users.id, username: users.username, disabledAt: users.disabledAt })
      .from(channelIdentities)
      .innerJoin(users, eq(users.id, channelIdentities.userId))
      .where(and(eq(channelIdentities.channel, channel), eq(channelIdentities.channelUserId, channelUserId)))
      .limit(1);
    return row ? { userId: row.userId, username: row.username, disabled: row.disabledAt !== null } : null;
  }

  /** The chat accounts of one channel linked to a Mosaic account, oldest first (where to reach its owner). */
  async channelUsersOf(channel: string, userId: string): Promise<string[]> {
    const rows = await this.db
      .select({ channelUserId: channelIdentities.channelUserId })
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, channel), eq(channelIdentities.userId, userId)))
      .orderBy(asc(channelIdentities.linkedAt));
    return rows.map((r) => r.channelUserId);
  }

  /** The acting user's own links, every channel. */
  async listFor(actor: Actor): Promise<ChannelLink[]> {
    return this.db
      .select({ channel: channelIdentities.channel, channelUserId: channelIdentities.channelUserId, linkedAt: channelIdentities.linkedAt })
      .from(channelIdentities)
      .where(eq(channelIdentities.userId, actor.userId))
      .orderBy(asc(channelIdentities.linkedAt));
  }

  /**
   * Links a chat account to a Mosaic account. Never moves a link: a chat
   * account held by another account stays there (`taken`) until unlinked.
   */
  async link(channel: string, channelUserId: string, userId: string): Promise<LinkOutcome> {
    for (let attempt = 0; ; attempt++) {
      const inserted = await this.db
        .insert(channelIdentities)
        .values({ channel, channelUserId, userId })
        .onConflictDoNothing()
        .returning({ linkedAt: channelIdentities.linkedAt });
      if (inserted[0]) return { outcome: 'linked', linkedAt: inserted[0].linkedAt };
      const [row] = await this.db
        .select({ userId: channelIdentities.userId, linkedAt: channelIdentities.linkedAt })
        .from(channelIdentities)
        .where(and(eq(channelIdentities.channel, channel), eq(channelIdentities.channelUserId, channelUserId)))
        .limit(1);
      if (row?.userId === userId) return { outcome: 'already', linkedAt: row.linkedAt };
      const owner = await this.ownerOf(channel, channelUserId);
      if (owner) return { outcome: 'taken', owner };
      // Unlinked between the insert and the read: try once more.
      if (attempt >= 2) throw new Error(`${channel} link ${channelUserId} keeps changing; try again`);
    }
  }

  /** Removes one of the acting user's own links; another account's link is not found. */
  async unlink(actor: Actor, channel: string, channelUserId: string): Promise<ChannelLink> {
    const [row] = await this.db
      .delete(channelIdentities)
      .where(and(eq(channelIdentities.channel, channel), eq(channelIdentities.channelUserId, channelUserId), eq(channelIdentities.userId, actor.userId)))
      .returning({ channel: channelIdentities.channel, channelUserId: channelIdentities.channelUserId, linkedAt: channelIdentities.linkedAt });
    if (!row) throw notFound(`${channel} link ${channelUserId}`);
    return row;
  }

  /** Removes a link whoever holds it (admins and operators); returns the account it belonged to. */
  async unlinkAny(channel: string, channelUserId: string): Promise<{ userId: string; linkedAt: Date }> {
    const [row] = await this.db
      .delete(channelIdentities)
      .where(and(eq(channelIdentities.channel, channel), eq(channelIdentities.channelUserId, channelUserId)))
      .returning({ userId: channelIdentities.userId, linkedAt: channelIdentities.linkedAt });
    if (!row) throw notFound(`${channel} link ${channelUserId}`);
    return row;
  }
}
