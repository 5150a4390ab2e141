/** Personal access tokens, stored hashed. */
import { and, desc, eq, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { apiTokens, users } from '../db/schema.ts';
import { notFound } from '../errors.ts';
import type { Actor } from './actor.ts';
import { generateToken, hashToken, tokenDisplayPrefix } from './tokens.ts';
import { actorOf } from './user-store.ts';

/** How fresh a token's `lastUsedAt` is kept. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface TokenInfo {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export class TokenStore {
  constructor(private readonly db: Db) {}

  /** Issues a token for the actor itself. The raw token is returned once and never stored. */
  async issue(actor: Actor, name = 'default'): Promise<{ token: string; info: TokenInfo }> {
    const token = generateToken();
    const [row] = await this.db
      .insert(apiTokens)
      .values({ userId: actor.userId, name, tokenHash: hashToken(token), prefix: tokenDisplayPrefix(token) })
      .returning();
    return { token, info: toInfo(row!) };
  }

  async list(actor: Actor): Promise<TokenInfo[]> {
    const rows = await this.db.select().from(apiTokens).where(eq(apiTokens.userId, actor.userId)).orderBy(desc(apiTokens.createdAt));
    return rows.map(toInfo);
  }

  async revoke(actor: Actor, tokenId: string): Promise<void> {
    const rows = await this.db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, actor.userId), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    if (rows.length === 0) throw notFound('token');
  }

  /** Resolves a presented bearer token to its user; null when unknown, revoked, expired or the user is disabled. */
  async authenticate(token: string): Promise<Actor | null> {
    return (await this.identify(token))?.actor ?? null;
  }

  /** As authenticate, with the token's id: a long-lived connection re-checks that id (activeIds). */
  async identify(token: string): Promise<{ actor: Actor; tokenId: string } | null> {
    if (!token) return null;
    const [row] = await this.db
      .select({ token: apiTokens, user: users })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(eq(apiTokens.tokenHash, hashToken(token)))
      .limit(1);
    if (!row) return null;
    if (row.token.revokedAt || row.user.disabledAt) return null;
    if (row.token.expiresAt && row.token.expiresAt.getTime() <= Date.now()) return null;
    // Best effort: a failed bookkeeping write must not refuse a valid token.
    // At most once a minute per token: a write on every request would be a
    // statement on every chat turn for a figure shown to the minute.
    const last = row.token.lastUsedAt?.getTime() ?? 0;
    if (Date.now() - last >= LAST_USED_RESOLUTION_MS) {
      void this.db.update(apiTokens).set({ lastUsedAt: new Date() }).where(eq(apiTokens.id, row.token.id)).catch(() => undefined);
    }
    return { actor: actorOf(row.user), tokenId: row.token.id };
  }

  /** Of these token ids, those still valid: not revoked, not expired, their user neither disabled nor deleted. One query. */
  async activeIds(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .select({ id: apiTokens.id })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(and(inArray(apiTokens.id, ids), isNull(apiTokens.revokedAt), isNull(users.disabledAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, new Date()))));
    return new Set(rows.map((r) => r.id));
  }
}

function toInfo(row: typeof apiTokens.$inferSelect): TokenInfo {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt, revokedAt: row.revokedAt };
}
