/** Builds the live surfaces from the core: bearer tokens and tickets as ways in, tokens re-checked. */
import type { MosaicConfig } from '../config/schema.ts';
import type { ConversationBus } from '../conversations/conversation-bus.ts';
import type { ConversationServices } from '../conversations/conversation-services.ts';
import type { AccountService } from '../identity/account-service.ts';
import type { Logger } from '../logging.ts';
import type { Redis } from '../valkey/client.ts';
import { ConnectionRegistry } from './connection-registry.ts';
import { bearerAuthenticator, LiveAuth, ticketAuthenticator, tokenCheck } from './live-auth.ts';
import { LiveHub } from './live-hub.ts';
import { LiveServer } from './live-server.ts';
import { SocketTickets } from './socket-tickets.ts';

export function createLiveServer(d: { config: MosaicConfig; logger: Logger; valkey: Redis; bus: ConversationBus; conversations: ConversationServices; accounts: AccountService }): LiveServer {
  const { config, valkey, accounts } = d;
  const prefix = config.valkey.keyPrefix;
  const tickets = new SocketTickets(valkey, prefix, config.live.ticketTtlSeconds);
  const bearer = bearerAuthenticator(accounts.tokens);
  const auth = new LiveAuth([bearer, ticketAuthenticator(tickets, accounts.users, accounts.tokens)], [tokenCheck(accounts.tokens)]);
  // A replica that died stops counting after three missed refreshes.
  const registry = new ConnectionRegistry(valkey, prefix, config.live.maxSocketsPerUser, config.live.heartbeatMs * 3);
  return new LiveServer({ config: config.live, hub: new LiveHub(d.bus), conversations: d.conversations, auth, ticketAuth: bearer, tickets, registry, logger: d.logger });
}
