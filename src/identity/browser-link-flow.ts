/**
 * The browser link flow. A channel sends a person a link carrying a state
 * nonce bound to their chat account; on the link page they sign in with
 * their Mosaic username and password, see exactly which chat account will
 * be linked, and confirm. Each form the page serves carries a single-use
 * form token bound to the state (and, once signed in, to the account), so
 * no cookie or session is needed and a form cannot be replayed or forged
 * without the state. Password failures are limited per username and per
 * state; a state that reaches the limit is cancelled.
 */
import type { Logger } from '../logging.ts';
import type { AccountService } from './account-service.ts';
import type { ChannelLinkService } from './channel-link-service.ts';
import type { LinkAttemptLimiter } from './link-attempts.ts';
import type { LinkChannel } from './link-channels.ts';
import type { LinkState, LinkStateStore } from './link-state-store.ts';
import type { PasswordSignIn } from './password-sign-in.ts';

/** What the page shows next. */
export type BrowserStep =
  | { step: 'sign-in'; channel: LinkChannel; channelUserId: string; form: string; problem?: string }
  | { step: 'confirm'; channel: LinkChannel; channelUserId: string; form: string; username: string }
  | { step: 'done'; channel: LinkChannel; channelUserId: string; username: string; outcome: 'linked' | 'already' }
  | { step: 'refused'; status: number; title: string; message: string; channel: LinkChannel | null };

export interface BrowserLinkDeps {
  links: ChannelLinkService;
  accounts: AccountService;
  states: LinkStateStore;
  attempts: LinkAttemptLimiter;
  signIn: PasswordSignIn;
  logger: Logger;
}

export class BrowserLinkFlow {
  constructor(private readonly d: BrowserLinkDeps) {}

  /**
   * A state nonce for a chat account, or null when this account asked for
   * too many (each one is a secret that lives 15 minutes).
   */
  async start(input: { channel: string; channelUserId: string; context: Record<string, string> }): Promise<{ nonce: string; expiresAt: Date } | null> {
    const minted = await this.d.attempts.fail('mint', `${input.channel}\u0000${input.channelUserId}`);
    if (minted.failures > this.d.attempts.limits.maxFailures * 2) return null;
    return this.d.states.createState(input);
  }

  private refused(channel: LinkChannel | null, status: number, title: string, message: string): BrowserStep {
    return { step: 'refused', status, title, message, channel };
  }

  private expired(channel: LinkChannel | null): BrowserStep {
    return this.refused(channel, 410, 'This link has expired', 'Links are valid for 15 minutes and work once. Ask for a new one in the chat (send `!link` to the Mosaic bot).');
  }

  private async validState(channelName: string, nonce: string): Promise<{ channel: LinkChannel | null; state: LinkState | null }> {
    const channel = this.d.links.channels.get(channelName);
    if (!channel) return { channel: null, state: null };
    const state = await this.d.states.peekState(nonce);
    return { channel, state: state && state.channel === channel.name ? state : null };
  }

  /** The page behind the link: a sign-in form, or why there is none. */
  async open(channelName: string, nonce: string): Promise<BrowserStep> {
    const { channel, state } = await this.validState(channelName, nonce);
    if (!channel) return this.refused(null, 404, 'Not found', `There is no link page for "${channelName}".`);
    if (!state) return this.expired(channel);
    return { step: 'sign-in', channel, channelUserId: state.channelUserId, form: await this.d.states.createForm(nonce, 'sign-in') };
  }

  /** The sign-in form was posted. */
  async signIn(channelName: string, nonce: string, form: string, username: string, password: string): Promise<BrowserStep> {
    const { channel, state } = await this.validState(channelName, nonce);
    if (!channel) return this.refused(null, 404, 'Not found', `There is no link page for "${channelName}".`);
    if (!state) return this.expired(channel);
    if (!(await this.d.states.consumeForm(form, nonce, 'sign-in'))) {
      return this.refused(channel, 400, 'This form has expired', 'Each form works once. Open the link from the chat again.');
    }
    const again = async (problem: string): Promise<BrowserStep> => ({ step: 'sign-in', channel, channelUserId: state.channelUserId, form: await this.d.states.createForm(nonce, 'sign-in'), problem });
    const result = await this.d.signIn.signIn(username, password);
    if (result.outcome === 'locked') return again(`Too many failed sign-ins for this username. Try again in ${minutes(result.lockedForSeconds)}.`);
    if (result.outcome === 'refused') {
      const perState = await this.d.attempts.fail('state', nonce);
      this.d.logger.warn({ event: 'identity.browser_sign_in_failed', channel: channel.name, channelUserId: state.channelUserId, stateLocked: perState.lockedForSeconds > 0 }, 'link page: sign-in failed');
      if (perState.lockedForSeconds > 0) {
        await this.d.states.consumeState(nonce);
        return this.refused(channel, 429, 'Too many failed sign-ins', 'This link is cancelled. Ask for a new one in the chat (send `!link` to the Mosaic bot).');
      }
      return again('Wrong username or password (or the account has no password: ask your admin to set one, or use a link token).');
    }
    const actor = result.actor;
    return { step: 'confirm', channel, channelUserId: state.channelUserId, username: actor.username, form: await this.d.states.createForm(nonce, 'confirm', actor.userId) };
  }

  /** The confirmation form was posted: link (or cancel). */
  async confirm(channelName: string, nonce: string, form: string, decision: 'link' | 'cancel'): Promise<BrowserStep> {
    const { channel, state } = await this.validState(channelName, nonce);
    if (!channel) return this.refused(null, 404, 'Not found', `There is no link page for "${channelName}".`);
    if (!state) return this.expired(channel);
    const signedIn = await this.d.states.consumeForm(form, nonce, 'confirm');
    if (!signedIn?.userId) return this.refused(channel, 400, 'This form has expired', 'Each form works once. Open the link from the chat again.');
    // The single-use point of the state: whoever takes it links (or cancels).
    const taken = await this.d.states.consumeState(nonce);
    if (!taken) return this.expired(channel);
    if (decision === 'cancel') {
      return this.refused(channel, 200, 'Nothing was linked', `${channel.idLabel} ${taken.channelUserId} stays unlinked. The link is cancelled; ask for a new one in the chat if you change your mind.`);
    }
    const user = await this.d.accounts.users.findById(signedIn.userId);
    if (!user || user.disabledAt) return this.refused(channel, 409, 'This account is disabled', 'Ask your Mosaic admin.');
    const outcome = await this.d.links.identities.link(channel.name, taken.channelUserId, user.id);
    if (outcome.outcome === 'taken') {
      return this.refused(channel, 409, 'Already linked to another account', `${channel.idLabel} ${taken.channelUserId} is linked to the Mosaic account "${outcome.owner.username}". Unlink it there first, then ask for a new link.`);
    }
    if (outcome.outcome === 'linked') {
      await this.d.links.announce(
        { change: 'linked', channel: channel.name, channelUserId: taken.channelUserId, userId: user.id, via: 'browser', at: outcome.linkedAt.toISOString(), context: taken.context },
        user.username,
        user.username,
      );
    }
    return { step: 'done', channel, channelUserId: taken.channelUserId, username: user.username, outcome: outcome.outcome };
  }
}

function minutes(seconds: number): string {
  const m = Math.ceil(seconds / 60);
  return m <= 1 ? 'a minute' : `${m} minutes`;
}
