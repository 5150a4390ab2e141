/**
 * Builds the linking pieces on top of the database and Valkey: the same
 * for the server and for the CLI (which announces changes through the job
 * queue, so a running server's channel reacts to them).
 */
import type { MosaicConfig } from '../config/schema.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../logging.ts';
import { AgentLogStore } from '../logs/agent-log-store.ts';
import type { Redis } from '../valkey/client.ts';
import type { AccountService } from './account-service.ts';
import { BrowserLinkFlow } from './browser-link-flow.ts';
import { ChannelIdentityStore } from './channel-identity-store.ts';
import { ChannelLinkService } from './channel-link-service.ts';
import type { IdentityChange } from './identity-events.ts';
import { LinkAttemptLimiter } from './link-attempts.ts';
import { LinkChannels } from './link-channels.ts';
import { LinkStateStore } from './link-state-store.ts';
import { LinkTokenStore } from './link-token-store.ts';
import { PasswordSignIn } from './password-sign-in.ts';

export interface Linking {
  links: ChannelLinkService;
  browser: BrowserLinkFlow;
  channels: LinkChannels;
  /** Username + password sign-in with the lockout every surface shares (the API, the link page, the web client). */
  signIn: PasswordSignIn;
}

export function createLinking(deps: {
  config: MosaicConfig;
  db: Db;
  valkey: Redis;
  accounts: AccountService;
  logger: Logger;
  publish(change: IdentityChange): Promise<void>;
  channels?: LinkChannels;
}): Linking {
  const prefix = deps.config.valkey.keyPrefix;
  const attempts = new LinkAttemptLimiter(deps.valkey, prefix, { maxFailures: deps.config.linking.maxFailedAttempts, windowSeconds: deps.config.linking.lockoutMinutes * 60 });
  const channels = deps.channels ?? new LinkChannels();
  const links = new ChannelLinkService({
    db: deps.db,
    users: deps.accounts.users,
    identities: new ChannelIdentityStore(deps.db),
    tokens: new LinkTokenStore(deps.valkey, prefix),
    attempts,
    audit: new AgentLogStore(deps.db),
    channels,
    publish: deps.publish,
    logger: deps.logger,
  });
  const signIn = new PasswordSignIn(deps.accounts, attempts);
  const browser = new BrowserLinkFlow({ links, accounts: deps.accounts, states: new LinkStateStore(deps.valkey, prefix), attempts, signIn, logger: deps.logger });
  return { links, browser, channels, signIn };
}
