/**
 * The web client's sign-in sessions, kept server-side in Valkey (shared by
 * every replica). The browser holds only the session id, in an HttpOnly
 * cookie; Valkey holds its SHA-256, so an id read from Valkey or a log
 * opens nothing. Each session has a CSRF token of its own, which state-
 * changing requests must echo in a header. A session ends when its
 * lifetime does (the key's TTL), at sign-out (the key is deleted), the
 * moment its user is disabled or deleted, and — when it was opened with a
 * personal access token — when that token is revoked (checked on every use).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Redis } from '../valkey/client.ts';
import { ephemeralKey } from '../housekeeping/ephemeral-keys.ts';
import type { Actor } from './actor.ts';
import { parseRecord, sameHash, sha256Hex } from './link-secrets.ts';
import type { TokenStore } from './token-store.ts';
import { actorOf, type UserStore } from './user-store.ts';

export const SESSION_PREFIX = 'mws_';
const CSRF_PREFIX = 'mcs_';

// The CSRF token is kept as it is: the page asks for it again after a reload (GET /api/auth/session), and
// it opens nothing without the cookie, which is HttpOnly and only ever sent to this origin.
// `tokenId`: a session opened with a personal access token ends when that token is revoked.
const record = z.object({ userId: z.uuid(), csrf: z.string().startsWith('mcs_'), createdAt: z.number().int(), expiresAt: z.number().int(), tokenId: z.uuid().optional() });

export interface NewWebSession {
  /** The secret the cookie carries; shown this once. */
  sessionId: string;
  /** The secret state-changing requests echo in `X-CSRF-Token`. */
  csrfToken: string;
  expiresAt: Date;
}

export interface ResolvedWebSession {
  actor: Actor;
  /** The stored hash of the session id: how a live connection names its credential. */
  key: string;
  expiresAt: Date;
  csrfToken: string;
  /** Whether this CSRF token is the session's (constant time). */
  csrfMatches(token: string): boolean;
}

export class WebSessionStore {
  constructor(
    private readonly valkey: Redis,
    private readonly prefix: string,
    private readonly users: UserStore,
    private readonly tokens: TokenStore,
    readonly lifetimeSeconds: number,
  ) {}

  private keyOf(hash: string): string {
    return ephemeralKey(this.prefix, 'web', 'session', hash);
  }

  /** Well-formed ids only: anything else is not looked up at all. */
  private static hashOf(sessionId: string): string | null {
    return sessionId.startsWith(SESSION_PREFIX) && sessionId.length <= 100 ? sha256Hex(sessionId) : null;
  }

  /** `tokenId`: the personal access token signed in with, when it was one (the session then stands for it). */
  async create(actor: Actor, tokenId?: string): Promise<NewWebSession> {
    const sessionId = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
    const csrfToken = `${CSRF_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    const expiresAt = now + this.lifetimeSeconds * 1000;
    const value = JSON.stringify({ userId: actor.userId, csrf: csrfToken, createdAt: now, expiresAt, ...(tokenId ? { tokenId } : {}) });
    // SET … EX in one command: no moment where the record exists without its end.
    await this.valkey.set(this.keyOf(sha256Hex(sessionId)), value, 'EX', this.lifetimeSeconds);
    return { sessionId, csrfToken, expiresAt: new Date(expiresAt) };
  }

  /** The session and its user, or null when unknown, ended, or its user is disabled or gone. */
  async resolve(sessionId: string): Promise<ResolvedWebSession | null> {
    const hash = WebSessionStore.hashOf(sessionId);
    if (!hash) return null;
    const held = parseRecord(record, await this.valkey.get(this.keyOf(hash)));
    if (!held || held.expiresAt <= Date.now()) return null;
    const user = await this.users.findById(held.userId);
    if (!user || user.disabledAt) return null;
    if (held.tokenId && !(await this.tokens.activeIds([held.tokenId])).has(held.tokenId)) return null;
    return {
      actor: actorOf(user),
      key: hash,
      expiresAt: new Date(held.expiresAt),
      csrfToken: held.csrf,
      csrfMatches: (token) => token.length <= 100 && sameHash(sha256Hex(token), sha256Hex(held.csrf)),
    };
  }

  /** Signs out: the session ends on every replica at once. */
  async remove(sessionId: string): Promise<void> {
    const hash = WebSessionStore.hashOf(sessionId);
    if (hash) await this.valkey.del(this.keyOf(hash));
  }

  /** Of these session keys (hashes), those still valid: not ended, their user neither disabled nor deleted. */
  async stillValid(keys: string[]): Promise<Set<string>> {
    const unique = [...new Set(keys)].filter((k) => /^[0-9a-f]{64}$/.test(k));
    if (unique.length === 0) return new Set();
    const raw = await this.valkey.mget(...unique.map((k) => this.keyOf(k)));
    const held = new Map<string, { userId: string; tokenId?: string | undefined }>();
    unique.forEach((k, i) => {
      const r = parseRecord(record, raw[i] ?? null);
      if (r && r.expiresAt > Date.now()) held.set(k, r);
    });
    const active = await this.users.activeIds([...new Set([...held.values()].map((h) => h.userId))]);
    const tokenIds = [...held.values()].flatMap((h) => (h.tokenId ? [h.tokenId] : []));
    const tokens = tokenIds.length ? await this.tokens.activeIds(tokenIds) : new Set<string>();
    return new Set([...held].filter(([, h]) => active.has(h.userId) && (!h.tokenId || tokens.has(h.tokenId))).map(([k]) => k));
  }
}
