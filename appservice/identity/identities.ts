/**
 * Matrix users → Mosaic accounts (channel_identities). Unlinked users are
 * refused by default; users of allowlisted homeserver domains get an
 * account created on first contact.
 */
import { and, eq } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/client.ts';
import { channelIdentities } from '../../src/db/schema.ts';
import type { Actor } from '../../src/identity/actor.ts';
import { actorOf, USERNAME_PATTERN, type UserStore } from '../../src/identity/user-store.ts';
import { isMosaicError } from '../../src/errors.ts';
import type { Logger } from '../../src/logging.ts';

export const CHANNEL = 'matrix';

export interface IdentityPolicy {
  unlinkedUsers: 'refuse' | 'provision';
  autoProvisionDomains: string[];
  serverName: string;
}

export function domainOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1).toLowerCase();
}

/** The one line an unlinked user is told. */
export function howToLinkLine(userId: string): string {
  return `Your Matrix account ${userId} is not linked to a Mosaic account, so I can't answer you yet. Ask your Mosaic admin to link it (or to allow accounts from ${domainOf(userId)}); once linked, write here again.`;
}

export class IdentityService {
  constructor(
    private readonly db: Db,
    private readonly users: UserStore,
    private readonly policy: IdentityPolicy,
    private readonly logger: Logger,
  ) {}

  /** The Mosaic user id linked to a Matrix user, or null (IChannelAdapter.mapIdentity). */
  async mapIdentity(matrixUserId: string): Promise<string | null> {
    const [row] = await this.db
      .select({ userId: channelIdentities.userId })
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, CHANNEL), eq(channelIdentities.channelUserId, matrixUserId)))
      .limit(1);
    return row?.userId ?? null;
  }

  /** The Matrix users linked to a Mosaic user (someone may link several). */
  async matrixUsersOf(userId: string): Promise<string[]> {
    const rows = await this.db
      .select({ matrixUserId: channelIdentities.channelUserId })
      .from(channelIdentities)
      .where(and(eq(channelIdentities.channel, CHANNEL), eq(channelIdentities.userId, userId)))
      .orderBy(channelIdentities.linkedAt);
    return rows.map((r) => r.matrixUserId);
  }

  async link(matrixUserId: string, userId: string): Promise<void> {
    await this.db.insert(channelIdentities).values({ channel: CHANNEL, channelUserId: matrixUserId, userId }).onConflictDoNothing();
  }

  /** Whether this Matrix user's homeserver gets accounts automatically. */
  mayProvision(matrixUserId: string): boolean {
    const domains = this.policy.autoProvisionDomains.map((d) => d.toLowerCase().trim()).filter(Boolean);
    // `unlinkedUsers: provision` without a list means this homeserver's own users.
    if (domains.length === 0 && this.policy.unlinkedUsers === 'provision') domains.push(this.policy.serverName.toLowerCase());
    return domains.includes(domainOf(matrixUserId));
  }

  /** The acting Mosaic user for a Matrix user: linked, provisioned now, or null (refused). */
  async actorFor(matrixUserId: string, displayName?: string | null): Promise<Actor | null> {
    const linked = await this.mapIdentity(matrixUserId);
    if (linked) return this.actorById(linked);
    if (!this.mayProvision(matrixUserId)) return null;
    return this.provision(matrixUserId, displayName ?? null);
  }

  async actorById(userId: string): Promise<Actor | null> {
    const row = await this.users.findById(userId);
    return row && !row.disabledAt ? actorOf(row) : null;
  }

  private async provision(matrixUserId: string, displayName: string | null): Promise<Actor | null> {
    const base = usernameFor(matrixUserId);
    for (let attempt = 0; attempt < 5; attempt++) {
      // Another replica may have provisioned this user a moment ago.
      const linked = await this.mapIdentity(matrixUserId);
      if (linked) return this.actorById(linked);
      const username = attempt === 0 ? base : `${base.slice(0, 25)}-${randomBytes(3).toString('hex')}`;
      try {
        const row = await this.users.create({ username, role: 'member', displayName });
        await this.link(matrixUserId, row.id);
        const winner = await this.mapIdentity(matrixUserId);
        this.logger.info({ channel: CHANNEL, event: 'identity.provisioned', matrixUserId, userId: winner, username }, 'account created for a Matrix user');
        return winner ? this.actorById(winner) : null;
      } catch (err) {
        if (isMosaicError(err) && err.code === 'conflict') continue;
        throw err;
      }
    }
    return null;
  }
}

/** A valid Mosaic username from a Matrix localpart (`@Alice.B:x` → `alice.b`). */
export function usernameFor(matrixUserId: string): string {
  let name = matrixUserId
    .slice(1, matrixUserId.indexOf(':'))
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 32);
  if (!USERNAME_PATTERN.test(name)) name = `matrix-${name}`.slice(0, 32).replace(/[^a-z0-9]+$/, '') || 'matrix-user';
  return USERNAME_PATTERN.test(name) ? name : 'matrix-user';
}
