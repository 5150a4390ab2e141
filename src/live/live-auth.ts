/**
 * Who opens a live connection. Programs send their token as
 * `Authorization: Bearer`; browsers, which cannot set headers on a
 * WebSocket or an EventSource, redeem a single-use ticket (`?ticket=`) from
 * POST /api/socket/ticket — never a long-lived token in a URL that ends up
 * in logs. More ways (the web client's session cookie) plug in as further
 * authenticators, each with a check that tells whether its credential is
 * still valid, so open connections are cut when it is not.
 */
import type { IncomingMessage } from 'node:http';
import type { Actor } from '../identity/actor.ts';
import type { TokenStore } from '../identity/token-store.ts';
import { actorOf, type UserStore } from '../identity/user-store.ts';
import { MosaicError, unauthorized } from '../errors.ts';
import { bearerToken } from '../http/auth.ts';
import { sameOrigin, sessionIdOf, type OriginPolicy } from '../http/web-session-auth.ts';
import type { WebSessionStore } from '../identity/web-session-store.ts';
import type { SocketTickets } from './socket-tickets.ts';

/** What a connection was opened with: re-checked while it stays open. */
export interface LiveCredential {
  kind: string;
  id: string;
}

export interface LiveIdentity {
  actor: Actor;
  credential: LiveCredential;
}

export interface LiveAuthenticator {
  /** null: the request does not use this way, try the next; throws (401) when it does and fails. */
  identify(req: IncomingMessage, url: URL): Promise<LiveIdentity | null>;
}

/** Which credentials of one kind are still valid (a token not revoked, its user neither disabled nor deleted). */
export interface CredentialCheck {
  kind: string;
  stillValid(ids: string[]): Promise<Set<string>>;
}

export const credentialKey = (c: LiveCredential): string => `${c.kind}:${c.id}`;

export class LiveAuth {
  private readonly checks = new Map<string, CredentialCheck>();

  constructor(
    private readonly authenticators: LiveAuthenticator[],
    checks: CredentialCheck[],
  ) {
    for (const c of checks) this.checks.set(c.kind, c);
  }

  /** Adds a way in (first tried first) and the check of its credentials. */
  add(authenticator: LiveAuthenticator, check?: CredentialCheck): void {
    this.authenticators.push(authenticator);
    if (check) this.checks.set(check.kind, check);
  }

  async identify(req: IncomingMessage): Promise<LiveIdentity> {
    const url = new URL(req.url ?? '/', 'http://live.invalid');
    for (const a of this.authenticators) {
      const identity = await a.identify(req, url);
      if (identity) return identity;
    }
    throw unauthorized('send a personal access token as "Authorization: Bearer <token>", or a ticket from POST /api/socket/ticket as ?ticket=<ticket>');
  }

  /** Of these credentials, the keys (credentialKey) of those still valid; a kind nobody checks is never valid. */
  async stillValid(credentials: LiveCredential[]): Promise<Set<string>> {
    const byKind = new Map<string, Set<string>>();
    for (const c of credentials) {
      const ids = byKind.get(c.kind) ?? new Set();
      ids.add(c.id);
      byKind.set(c.kind, ids);
    }
    const valid = new Set<string>();
    for (const [kind, ids] of byKind) {
      const check = this.checks.get(kind);
      if (!check) continue;
      for (const id of await check.stillValid([...ids])) valid.add(credentialKey({ kind, id }));
    }
    return valid;
  }
}

export function bearerAuthenticator(tokens: TokenStore): LiveAuthenticator {
  return {
    async identify(req) {
      if (req.headers.authorization === undefined) return null;
      const token = bearerToken(req);
      if (!token) throw unauthorized('the Authorization header must be "Bearer <token>"');
      const found = await tokens.identify(token);
      if (!found) throw unauthorized('this token is unknown, revoked or expired');
      return { actor: found.actor, credential: { kind: 'token', id: found.tokenId } };
    },
  };
}

/** A ticket stands for the token it was issued with: revoking that token ends the connection too. */
export function ticketAuthenticator(tickets: SocketTickets, users: UserStore, tokens: TokenStore): LiveAuthenticator {
  return {
    async identify(_req, url) {
      const ticket = url.searchParams.get('ticket');
      if (ticket === null) return null;
      const held = await tickets.redeem(ticket);
      if (!held) throw unauthorized('this ticket is unknown, used or expired; get a new one from POST /api/socket/ticket');
      const user = await users.findById(held.userId);
      const valid = held.credential.kind === 'token' ? (await tokens.activeIds([held.credential.id])).has(held.credential.id) : false;
      if (!user || user.disabledAt || !valid) throw unauthorized('the token this ticket was issued with is no longer valid');
      return { actor: actorOf(user), credential: held.credential };
    },
  };
}

export function tokenCheck(tokens: TokenStore): CredentialCheck {
  return { kind: 'token', stillValid: (ids) => tokens.activeIds(ids) };
}

/**
 * The web client's session cookie. A browser sends it with any WebSocket
 * handshake or EventSource to this host, whichever page opened it, so the
 * connection must come from our own page: its Origin (which browsers always
 * send on a WebSocket handshake) must be ours.
 */
export function webSessionAuthenticator(sessions: WebSessionStore, origins: OriginPolicy): LiveAuthenticator {
  return {
    async identify(req) {
      const id = sessionIdOf(req);
      if (id === null) return null;
      if (!sameOrigin(req, upgradeOrigin(req), origins)) throw new MosaicError('csrf_refused', 'a signed-in browser connection must be opened by the Mosaic page itself (Origin)', { httpStatus: 403 });
      const found = await sessions.resolve(id);
      if (!found) throw unauthorized('your web sign-in has ended (expired, signed out, or the account was disabled); sign in again');
      return { actor: found.actor, credential: { kind: 'session', id: found.key } };
    },
  };
}

export function webSessionCheck(sessions: WebSessionStore): CredentialCheck {
  return { kind: 'session', stillValid: (ids) => sessions.stillValid(ids) };
}

/**
 * The origin a raw request (an upgrade) was addressed to, as the app reads
 * it (`trust proxy: loopback`): a proxy on this host may say https.
 */
function upgradeOrigin(req: IncomingMessage): string | null {
  const host = req.headers.host;
  if (!host) return null;
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  const peer = req.socket.remoteAddress ?? '';
  const forwarded = /^(127\.|::1$|::ffff:127\.)/.test(peer) ? String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() : '';
  return `${tls ? 'https' : forwarded === 'https' ? 'https' : 'http'}://${host}`;
}
