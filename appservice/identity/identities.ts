/**
 * Matrix users → Mosaic accounts (channel_identities, through the core's
 * linking service: no cache, so a revoked link is refused at the next
 * message). Unlinked users are refused with a line saying how to link;
 * users of allowlisted homeserver domains get an account created on first
 * contact; a linked but disabled account is refused with its own notice.
 */
import { randomBytes } from 'node:crypto';
import type { Actor } from '../../src/identity/actor.ts';
import type { BrowserLinkFlow } from '../../src/identity/browser-link-flow.ts';
import type { ChannelLinkService } from '../../src/identity/channel-link-service.ts';
import { actorOf, USERNAME_PATTERN, type UserStore } from '../../src/identity/user-store.ts';
import { isMosaicError } from '../../src/errors.ts';
import type { Logger } from '../../src/logging.ts';

export const CHANNEL = 'matrix';

export interface IdentityPolicy {
  unlinkedUsers: 'refuse' | 'provision';
  autoProvisionDomains: string[];
  serverName: string;
}

/** Where a person is being told something: the room, who speaks, and whether they are the only person there. */
export interface Audience {
  roomId: string;
  asUser: string;
  /** Only this person (and Mosaic's own users) in the room: a secret link may be shown. */
  alone: boolean;
}

export function domainOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1).toLowerCase();
}

/**
 * What an unlinked person is told: the ways to link. `signInUrl` is the
 * browser link (only ever shown to the person alone); `bot` is where
 * `!link` goes.
 */
export function howToLinkLine(userId: string, opts: { signInUrl?: string | null; bot?: string } = {}): string {
  const bot = opts.bot ? ` to ${opts.bot}` : '';
  const ways = [
    opts.signInUrl
      ? `- open ${opts.signInUrl} and sign in to Mosaic (the link works once, for 15 minutes);`
      : `- send \`!link\`${bot} in a direct message, and I'll give you a link to sign in with;`,
    `- or get a link token in Mosaic (\`mosaic link <username>\`, or \`POST /api/auth/channel-link-token\`) and send \`!link <token>\`${bot} in a direct message;`,
    `- or ask your Mosaic admin to link it (or to allow accounts from ${domainOf(userId)}).`,
  ];
  return [`Your Matrix account ${userId} is not linked to a Mosaic account, so I can't answer you yet. To link it:`, ...ways, '', 'Once linked, write here again.'].join('\n');
}

/** What a person linked to a disabled (or deleted) account is told. */
export function disabledAccountLine(userId: string, username: string): string {
  return `Your Matrix account ${userId} is linked to the Mosaic account **${username}**, which is disabled, so I can't answer you. Ask your Mosaic admin.`;
}

export interface IdentityServiceDeps {
  links: ChannelLinkService;
  browser: BrowserLinkFlow;
  users: UserStore;
  policy: IdentityPolicy;
  /** `http.publicUrl`: without it there is no browser link to offer. */
  publicUrl: string | undefined;
  botUserId: string;
  logger: Logger;
}

export class IdentityService {
  constructor(private readonly d: IdentityServiceDeps) {}

  /** The Mosaic user id linked to a Matrix user, or null (IChannelAdapter.mapIdentity). */
  async mapIdentity(matrixUserId: string): Promise<string | null> {
    return (await this.d.links.ownerOf(CHANNEL, matrixUserId))?.userId ?? null;
  }

  /** The Matrix users linked to a Mosaic user (someone may link several). */
  matrixUsersOf(userId: string): Promise<string[]> {
    return this.d.links.identities.channelUsersOf(CHANNEL, userId);
  }

  /** Whether this Matrix user's homeserver gets accounts automatically. */
  mayProvision(matrixUserId: string): boolean {
    const domains = this.d.policy.autoProvisionDomains.map((d) => d.toLowerCase().trim()).filter(Boolean);
    // `unlinkedUsers: provision` without a list means this homeserver's own users.
    if (domains.length === 0 && this.d.policy.unlinkedUsers === 'provision') domains.push(this.d.policy.serverName.toLowerCase());
    return domains.includes(domainOf(matrixUserId));
  }

  /** The acting Mosaic user for a Matrix user: linked, provisioned now, or null (refused: see `refusal`). */
  async actorFor(matrixUserId: string, displayName?: string | null): Promise<Actor | null> {
    const owner = await this.d.links.ownerOf(CHANNEL, matrixUserId);
    if (owner) return owner.disabled ? null : this.actorById(owner.userId);
    if (!this.mayProvision(matrixUserId)) return null;
    return this.provision(matrixUserId, displayName ?? null);
  }

  async actorById(userId: string): Promise<Actor | null> {
    const row = await this.d.users.findById(userId);
    return row && !row.disabledAt ? actorOf(row) : null;
  }

  /** Why a Matrix user gets no answer, in words for them: a disabled account, or how to link. */
  async refusal(matrixUserId: string, audience: Audience): Promise<string> {
    const owner = await this.d.links.ownerOf(CHANNEL, matrixUserId);
    if (owner) return disabledAccountLine(matrixUserId, owner.username);
    return howToLinkLine(matrixUserId, { signInUrl: audience.alone ? await this.signInUrl(matrixUserId, audience) : null, bot: this.d.botUserId });
  }

  /**
   * A browser link bound to this Matrix user (a state nonce, single use, 15
   * minutes), or null without `http.publicUrl` or when they asked for too many.
   */
  async signInUrl(matrixUserId: string, audience: Audience): Promise<string | null> {
    if (!this.d.publicUrl) return null;
    const started = await this.d.browser.start({ channel: CHANNEL, channelUserId: matrixUserId, context: { roomId: audience.roomId, asUser: audience.asUser } });
    if (!started) return null;
    return `${this.d.publicUrl.replace(/\/+$/, '')}/link/${CHANNEL}?state=${started.nonce}`;
  }

  private async provision(matrixUserId: string, displayName: string | null): Promise<Actor | null> {
    const base = usernameFor(matrixUserId);
    for (let attempt = 0; attempt < 5; attempt++) {
      // Another replica may have provisioned this user a moment ago.
      const linked = await this.mapIdentity(matrixUserId);
      if (linked) return this.actorById(linked);
      const username = attempt === 0 ? base : `${base.slice(0, 25)}-${randomBytes(3).toString('hex')}`;
      try {
        const row = await this.d.users.create({ username, role: 'member', displayName });
        const outcome = await this.d.links.identities.link(CHANNEL, matrixUserId, row.id);
        if (outcome.outcome === 'linked') {
          this.d.logger.info({ channel: CHANNEL, event: 'identity.provisioned', matrixUserId, userId: row.id, username }, 'account created for a Matrix user');
          await this.d.links.announce({ change: 'linked', channel: CHANNEL, channelUserId: matrixUserId, userId: row.id, via: 'auto-provisioned', at: outcome.linkedAt.toISOString() }, username, 'auto-provisioning');
        }
        const winner = await this.mapIdentity(matrixUserId);
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
