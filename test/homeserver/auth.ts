/**
 * Accounts, access tokens and application-service registrations: who a
 * request acts as, and which user IDs an appservice owns.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { MatrixError, forbidden, type RequestContext } from './router.ts';

export interface Namespace { exclusive: boolean; regex: string }

/** The registration file of an application service, as the spec defines it. */
export interface AppserviceRegistration {
  id: string;
  url: string | null;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  namespaces: { users?: Namespace[]; aliases?: Namespace[]; rooms?: Namespace[] };
  rate_limited?: boolean;
  receive_ephemeral?: boolean;
  'de.sorunome.msc2409.push_ephemeral'?: boolean;
  protocols?: string[];
}

export interface User {
  userId: string;
  localpart: string;
  password?: string;
  displayname?: string;
  avatar_url?: string;
  /** The appservice that registered this user, if any. */
  appserviceId?: string;
}

export interface Requester {
  userId: string;
  deviceId: string;
  /** Set when the request was made with an appservice's as_token. */
  appservice?: AppserviceRegistration;
  /** The token used, for per-token transaction ids. */
  token: string;
}

export function loadRegistration(source: object | string): AppserviceRegistration {
  const reg = (typeof source === 'string' ? parseYaml(readFileSync(source, 'utf8')) : source) as AppserviceRegistration;
  for (const key of ['id', 'as_token', 'hs_token', 'sender_localpart'] as const) {
    if (typeof reg?.[key] !== 'string' || !reg[key]) throw new Error(`appservice registration is missing "${key}"`);
  }
  if (!reg.namespaces || typeof reg.namespaces !== 'object') throw new Error('appservice registration is missing "namespaces"');
  if (reg.url !== null && typeof reg.url !== 'string') throw new Error('appservice registration "url" must be a string or null');
  return reg;
}

function matches(namespaces: Namespace[] | undefined, value: string, exclusiveOnly = false): boolean {
  return (namespaces ?? []).some((ns) => (!exclusiveOnly || ns.exclusive) && new RegExp(`^(?:${ns.regex})$`).test(value));
}

export class Accounts {
  readonly users = new Map<string, User>();
  private readonly tokens = new Map<string, { userId: string; deviceId: string }>();
  readonly appservices: AppserviceRegistration[] = [];

  constructor(readonly serverName: string) {}

  userId(localpart: string): string {
    return localpart.startsWith('@') ? localpart : `@${localpart}:${this.serverName}`;
  }

  addAppservice(reg: AppserviceRegistration): void {
    this.appservices.push(reg);
    const sender = this.userId(reg.sender_localpart);
    if (!this.users.has(sender)) this.users.set(sender, { userId: sender, localpart: reg.sender_localpart, appserviceId: reg.id });
  }

  /** The appservice that owns `userId` (its sender, or a user namespace), if any. */
  appserviceForUser(userId: string, exclusiveOnly = false): AppserviceRegistration | undefined {
    return this.appservices.find((as) => this.userId(as.sender_localpart) === userId || matches(as.namespaces.users, userId, exclusiveOnly));
  }

  appserviceForAlias(alias: string, exclusiveOnly = false): AppserviceRegistration | undefined {
    return this.appservices.find((as) => matches(as.namespaces.aliases, alias, exclusiveOnly));
  }

  isInUserNamespace(as: AppserviceRegistration, userId: string): boolean {
    return this.userId(as.sender_localpart) === userId || matches(as.namespaces.users, userId);
  }

  isInRoomNamespace(as: AppserviceRegistration, roomId: string): boolean {
    return matches(as.namespaces.rooms, roomId);
  }

  isInAliasNamespace(as: AppserviceRegistration, alias: string): boolean {
    return matches(as.namespaces.aliases, alias);
  }

  createUser(localpart: string, opts: { password?: string; appserviceId?: string; displayname?: string } = {}): User {
    const userId = this.userId(localpart);
    if (this.users.has(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    const user: User = { userId, localpart, ...opts };
    this.users.set(userId, user);
    return user;
  }

  issueToken(userId: string, deviceId = randomBytes(5).toString('hex').toUpperCase()): { accessToken: string; deviceId: string } {
    const accessToken = `syt_${randomBytes(18).toString('base64url')}`;
    this.tokens.set(accessToken, { userId, deviceId });
    return { accessToken, deviceId };
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  private tokenOf(ctx: RequestContext): string | undefined {
    const header = ctx.headers.authorization;
    if (header) {
      const m = /^Bearer (.+)$/.exec(header);
      if (!m) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Invalid Authorization header.');
      return m[1];
    }
    return ctx.query.get('access_token') ?? undefined;
  }

  /** Who the request acts as; throws the spec's 401/403 errors like a real server. */
  authenticate(ctx: RequestContext): Requester {
    const token = this.tokenOf(ctx);
    if (!token) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token.');
    const as = this.appservices.find((a) => a.as_token === token);
    if (as) {
      const userId = ctx.query.get('user_id') ?? this.userId(as.sender_localpart);
      if (!this.isInUserNamespace(as, userId)) throw forbidden(`Application service cannot masquerade as this user (${userId}).`);
      if (!this.users.has(userId)) throw forbidden(`Application service has not registered this user (${userId}).`);
      return { userId, deviceId: `AS_${as.id}`, appservice: as, token };
    }
    const entry = this.tokens.get(token);
    if (!entry) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token.', { soft_logout: false });
    return { ...entry, token };
  }

  /** The appservice a request's token belongs to, without acting as a user (ping, register). */
  appserviceOf(ctx: RequestContext): AppserviceRegistration | undefined {
    const token = this.tokenOf(ctx);
    return token ? this.appservices.find((a) => a.as_token === token) : undefined;
  }
}
