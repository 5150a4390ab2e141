/**
 * Linking chat accounts (Matrix users) to Mosaic accounts, three ways:
 * a link token redeemed in the chat (`!link <token>`), the browser link page
 * (see browser-link-flow.ts), and an admin or operator naming both. Also
 * listing and revoking links. Every link and unlink is written to the audit
 * log (`agent_logs`, source `identity`) and announced as an identity change
 * (identity-events.ts). Tokens are never logged.
 */
import type { Db } from '../db/client.ts';
import { conflict, forbidden, MosaicError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { AgentLogStore } from '../logs/agent-log-store.ts';
import { AccountService } from './account-service.ts';
import { isAdmin, type Actor } from './actor.ts';
import { ChannelIdentityStore, type ChannelLink, type ChannelOwner } from './channel-identity-store.ts';
import type { IdentityChange } from './identity-events.ts';
import type { LinkAttemptLimiter } from './link-attempts.ts';
import type { LinkChannel, LinkChannels } from './link-channels.ts';
import { LINK_TOKEN_PATTERN, linkTokenHash, type LinkTokenStore } from './link-token-store.ts';
import type { PublicUser, UserStore } from './user-store.ts';

export interface ChannelLinkDeps {
  db: Db;
  users: UserStore;
  identities: ChannelIdentityStore;
  tokens: LinkTokenStore;
  attempts: LinkAttemptLimiter;
  audit: AgentLogStore;
  channels: LinkChannels;
  /** Hands an identity change to the channels (a job); never throws for a change already made. */
  publish(change: IdentityChange): Promise<void>;
  logger: Logger;
}

export interface IssuedLinkToken {
  token: string;
  expiresAt: Date;
  channel: string;
  username: string;
  /** The exact line to send, and where. */
  line: string;
  where: string;
}

export type RedeemFailure = 'locked' | 'token_locked' | 'malformed' | 'unknown' | 'expired' | 'used' | 'cancelled' | 'linked_elsewhere' | 'account_disabled';

export type RedeemResult =
  | { ok: true; outcome: 'linked' | 'already'; username: string }
  | {
      ok: false;
      reason: RedeemFailure;
      /** The account the chat account is linked to (linked_elsewhere). */
      username?: string;
      /** Set when this chat account is locked out now (or already was): how long. */
      lockedForSeconds: number;
      /** The token was cancelled after too many failures with it. */
      tokenCancelled: boolean;
    };

/** `channel_identities` and account names are lowercase; ids are compared as given (Matrix ids are case-sensitive). */
const CHANNEL_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export class ChannelLinkService {
  constructor(private readonly d: ChannelLinkDeps) {}

  get channels(): LinkChannels {
    return this.d.channels;
  }

  get identities(): ChannelIdentityStore {
    return this.d.identities;
  }

  /** The Mosaic account a chat account is linked to, or null. */
  ownerOf(channel: string, channelUserId: string): Promise<ChannelOwner | null> {
    return this.d.identities.ownerOf(channel, channelUserId);
  }

  listLinks(actor: Actor): Promise<ChannelLink[]> {
    return this.d.identities.listFor(actor);
  }

  // ---- tokens -------------------------------------------------------------------------------

  /** A link token for the actor's own account, or (admins) for any account by username. */
  async issueToken(actor: Actor, input: { channel: string; username?: string | undefined }): Promise<IssuedLinkToken> {
    const channel = this.d.channels.require(input.channel);
    if (input.username !== undefined && input.username !== actor.username && !isAdmin(actor)) {
      throw forbidden("only an admin may ask for a link token for another account; leave out username for your own");
    }
    const row = input.username === undefined ? await this.d.users.findById(actor.userId) : await this.d.users.requireByUsername(input.username);
    if (!row) throw new MosaicError('not_found', 'your account no longer exists', { httpStatus: 404 });
    return this.issueFor(channel, row.id, row.username, row.disabledAt !== null, actor.username);
  }

  /** A link token for an account named by the operator (`mosaic link`). */
  async issueTokenByOperator(channelName: string, username: string): Promise<IssuedLinkToken> {
    const channel = this.d.channels.require(channelName);
    const row = await this.d.users.requireByUsername(username);
    return this.issueFor(channel, row.id, row.username, row.disabledAt !== null, 'operator');
  }

  private async issueFor(channel: LinkChannel, userId: string, username: string, disabled: boolean, by: string): Promise<IssuedLinkToken> {
    if (disabled) throw conflict(`account "${username}" is disabled; enable it before linking a ${channel.label} account to it`);
    // Each token is a live secret in Valkey: an account gets a bounded number per window.
    const issued = await this.d.attempts.fail('mint', `token\u0000${userId}`);
    if (issued.failures > this.d.attempts.limits.maxFailures * 2) {
      const wait = Math.max(1, Math.ceil(issued.lockedForSeconds / 60));
      throw new MosaicError('rate_limited', `too many link tokens for "${username}" lately; use one already issued, or try again in ${wait} minute(s)`, { httpStatus: 429, retryable: true });
    }
    const { token, expiresAt } = await this.d.tokens.issue(userId, channel.name);
    this.d.logger.info({ event: 'identity.token_issued', channel: channel.name, userId, by }, `${channel.label} link token issued for ${username}`);
    return { token, expiresAt, channel: channel.name, username, ...channel.redeem(token) };
  }

  /**
   * Redeems a token presented by a chat account. Never throws for what the
   * person did wrong: the result says what happened, so the channel can
   * answer in words. Nothing is linked unless the result is `linked`.
   */
  async redeemToken(input: { channel: string; channelUserId: string; token: string }): Promise<RedeemResult> {
    const { channel, channelUserId } = input;
    const token = input.token.trim().toLowerCase();
    const account = `${channel}\u0000${channelUserId}`;
    const lockedFor = await this.d.attempts.lockedFor('account', account);
    if (lockedFor > 0) return { ok: false, reason: 'locked', lockedForSeconds: lockedFor, tokenCancelled: false };
    const fail = (reason: RedeemFailure, username?: string) => this.failRedeem(input, token, reason, username);

    if (!LINK_TOKEN_PATTERN.test(token)) return fail('malformed');
    if ((await this.d.attempts.lockedFor('token', linkTokenHash(token))) > 0) return { ok: false, reason: 'token_locked', lockedForSeconds: 0, tokenCancelled: true };
    const state = await this.d.tokens.inspect(token);
    if (state.state === 'unknown' || state.channel !== channel) return fail('unknown');
    if (state.state !== 'valid') return fail(state.state);

    const current = await this.d.identities.ownerOf(channel, channelUserId);
    if (current && current.userId !== state.userId) return fail('linked_elsewhere', current.username);
    const owner = await this.d.users.findById(state.userId);
    if (!owner) return fail('unknown');
    if (owner.disabledAt) return fail('account_disabled', owner.username);
    // The single-use point: of all who presented this token, one takes it.
    if (!(await this.d.tokens.consume(token))) return fail('used');
    if (current) return { ok: true, outcome: 'already', username: owner.username };

    const linked = await this.d.identities.link(channel, channelUserId, owner.id);
    if (linked.outcome === 'taken') return fail('linked_elsewhere', linked.owner.username);
    await this.d.attempts.clear('account', account);
    if (linked.outcome === 'linked') await this.announce({ change: 'linked', channel, channelUserId, userId: owner.id, via: 'token', at: linked.linkedAt.toISOString() }, owner.username, 'self');
    return { ok: true, outcome: linked.outcome === 'linked' ? 'linked' : 'already', username: owner.username };
  }

  private async failRedeem(input: { channel: string; channelUserId: string }, token: string, reason: RedeemFailure, username?: string): Promise<RedeemResult> {
    const mine = await this.d.attempts.fail('account', `${input.channel}\u0000${input.channelUserId}`);
    let tokenCancelled = false;
    if (LINK_TOKEN_PATTERN.test(token)) {
      const theirs = await this.d.attempts.fail('token', linkTokenHash(token));
      if (theirs.lockedForSeconds > 0) tokenCancelled = (await this.d.tokens.burn(token)) || reason === 'cancelled';
    }
    this.d.logger.warn(
      { event: 'identity.link_failed', channel: input.channel, channelUserId: input.channelUserId, reason, failures: mine.failures, lockedForSeconds: mine.lockedForSeconds, tokenCancelled },
      `link attempt refused: ${reason}`,
    );
    return { ok: false, reason, ...(username ? { username } : {}), lockedForSeconds: mine.lockedForSeconds, tokenCancelled };
  }

  /** Cancels a token that was shown where others can read it. True when it was still usable. */
  async cancelToken(token: string): Promise<boolean> {
    const t = token.trim().toLowerCase();
    return LINK_TOKEN_PATTERN.test(t) ? this.d.tokens.burn(t) : false;
  }

  // ---- admins and operators -----------------------------------------------------------------

  /** Links a chat account to an existing account (admin API, `mosaic user link`). */
  async linkAccount(input: { channel: string; channelUserId: string; username: string }, by: string): Promise<{ linked: boolean; username: string }> {
    const channel = this.d.channels.checkUserId(input.channel, input.channelUserId);
    const row = await this.d.users.requireByUsername(input.username);
    if (row.disabledAt) throw conflict(`account "${row.username}" is disabled; enable it before linking a ${channel.label} account to it`);
    const outcome = await this.d.identities.link(channel.name, input.channelUserId, row.id);
    if (outcome.outcome === 'taken') throw this.takenError(channel, input.channelUserId, outcome.owner);
    if (outcome.outcome === 'linked') {
      await this.announce({ change: 'linked', channel: channel.name, channelUserId: input.channelUserId, userId: row.id, via: 'admin', at: outcome.linkedAt.toISOString() }, row.username, by);
    }
    return { linked: outcome.outcome === 'linked', username: row.username };
  }

  /**
   * Creates an account and links a chat account to it, in one transaction:
   * a chat account held elsewhere (409) or a taken username leaves nothing
   * behind.
   */
  async createAccountWithLink(
    input: { username: string; admin?: boolean; password?: string | null; displayName?: string | null },
    link: { channel: string; channelUserId: string },
    by: string,
  ): Promise<{ user: PublicUser; token: string }> {
    const channel = this.d.channels.checkUserId(link.channel, link.channelUserId);
    const { created, linkedAt } = await this.d.db.transaction(async (tx) => {
      const created = await new AccountService(tx as unknown as Db).createUser(input);
      const outcome = await new ChannelIdentityStore(tx as unknown as Db).link(channel.name, link.channelUserId, created.user.id);
      if (outcome.outcome === 'taken') throw this.takenError(channel, link.channelUserId, outcome.owner);
      return { created, linkedAt: outcome.linkedAt };
    });
    await this.announce({ change: 'linked', channel: channel.name, channelUserId: link.channelUserId, userId: created.user.id, via: 'account-created', at: linkedAt.toISOString() }, created.user.username, by);
    return created;
  }

  private takenError(channel: LinkChannel, channelUserId: string, owner: ChannelOwner): MosaicError {
    return conflict(`${channel.idLabel} ${channelUserId} is already linked to account "${owner.username}"; unlink it first (DELETE /api/auth/channel-links/${channel.name}/${encodeURIComponent(channelUserId)}, or \`mosaic user unlink ${owner.username} ${channelUserId}\`)`, {
      linkedTo: owner.username,
    });
  }

  /** Revokes a link: members their own (another's is not found), admins any. */
  async unlink(actor: Actor, channel: string, channelUserId: string): Promise<void> {
    const name = checkChannelName(channel);
    let userId = actor.userId;
    if (isAdmin(actor)) userId = (await this.d.identities.unlinkAny(name, channelUserId)).userId;
    else await this.d.identities.unlink(actor, name, channelUserId);
    const owner = userId === actor.userId ? actor.username : ((await this.d.users.findById(userId))?.username ?? userId);
    await this.announce({ change: 'unlinked', channel: name, channelUserId, userId, via: userId === actor.userId ? 'self' : 'admin', at: new Date().toISOString() }, owner, actor.username);
  }

  /** `mosaic user unlink NAME ID`: the link must belong to that account. */
  async unlinkByOperator(username: string, channel: string, channelUserId: string): Promise<void> {
    const name = checkChannelName(channel);
    const row = await this.d.users.requireByUsername(username);
    await this.d.identities.unlink({ userId: row.id, username: row.username, role: row.role }, name, channelUserId);
    await this.announce({ change: 'unlinked', channel: name, channelUserId, userId: row.id, via: 'admin', at: new Date().toISOString() }, row.username, 'operator');
  }

  // ---- record and announce -------------------------------------------------------------------

  /** Audit line, log line and the change's job. Called by the browser flow too. */
  async announce(change: IdentityChange, username: string, by: string): Promise<void> {
    const label = this.d.channels.get(change.channel)?.label ?? change.channel;
    const verb = change.change === 'linked' ? 'linked to' : 'unlinked from';
    const message = `${label} account ${change.channelUserId} ${verb} ${username} (${change.via}, by ${by})`;
    const fields = { channel: change.channel, channelUserId: change.channelUserId, via: change.via, by };
    await this.d.audit
      .append({ source: 'identity', event: `identity.${change.change}`, userId: change.userId, message, data: fields })
      .catch((err: unknown) => this.d.logger.error({ event: 'identity.audit_failed', err: (err as Error).message, ...fields }, 'could not write the audit line'));
    this.d.logger.info({ event: `identity.${change.change}`, userId: change.userId, ...fields }, message);
    try {
      await this.d.publish(change);
    } catch (err) {
      // The link itself stands; only the channel's reaction (welcome, confirmation) is lost.
      this.d.logger.error({ event: 'identity.announce_failed', err: (err as Error).message, ...fields }, 'could not queue the identity change for the channel');
    }
  }
}

function checkChannelName(channel: string): string {
  if (!CHANNEL_NAME.test(channel)) throw new MosaicError('not_found', `channel "${channel.slice(0, 40)}" not found`, { httpStatus: 404 });
  return channel;
}
