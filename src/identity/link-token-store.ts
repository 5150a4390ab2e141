/**
 * Link tokens in Valkey: 32 random bytes as hex, valid 15 minutes, single
 * use, bound to the one account they were issued for. Only the SHA-256 of a
 * token is stored (in the key and the record). The record outlives its
 * validity by a day so a late or repeated attempt can be told "expired" or
 * "already used" instead of "unknown"; after that nothing is left.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Redis } from '../valkey/client.ts';
import { ephemeralKey } from '../housekeeping/ephemeral-keys.ts';
import { parseRecord, sameHash, sha256Hex } from './link-secrets.ts';

export const LINK_TOKEN_TTL_MS = 15 * 60_000;
/** How long a spent or expired token is remembered, to say so. */
const REMEMBER_MS = 24 * 3600_000;
export const LINK_TOKEN_PATTERN = /^[0-9a-f]{64}$/;

const record = z.object({
  /** SHA-256 of the token, compared in constant time with the presented one's. */
  h: z.string(),
  userId: z.string(),
  channel: z.string(),
  expiresAt: z.number(),
  /** Set once the token was used, or cancelled (shown where others could read it, or locked after failures). */
  closed: z.enum(['used', 'cancelled']).optional(),
});
type TokenRecord = z.infer<typeof record>;

export type TokenState =
  | { state: 'valid'; userId: string; channel: string; expiresAt: Date }
  | { state: 'expired' | 'used' | 'cancelled'; userId: string; channel: string }
  | { state: 'unknown' };

export const linkTokenHash = sha256Hex;

export class LinkTokenStore {
  constructor(
    private readonly valkey: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key(hash: string): string {
    return ephemeralKey(this.prefix, 'link', 'token', hash);
  }

  /** A new token for this account and channel. The raw token is returned once and never stored. */
  async issue(userId: string, channel: string): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('hex');
    const h = linkTokenHash(token);
    const expiresAt = this.now() + LINK_TOKEN_TTL_MS;
    const value: TokenRecord = { h, userId, channel, expiresAt };
    await this.valkey.set(this.key(h), JSON.stringify(value), 'PX', LINK_TOKEN_TTL_MS + REMEMBER_MS);
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** What a presented token is, without using it. */
  async inspect(token: string): Promise<TokenState> {
    const h = linkTokenHash(token);
    return stateOf(h, parse(await this.valkey.get(this.key(h))), this.now());
  }

  /**
   * Uses a token: the one caller that takes it from Valkey (GETDEL) gets its
   * account; everyone else, before or after, gets null. The record is put
   * back marked used, so a second attempt is told so.
   */
  async consume(token: string): Promise<{ userId: string; channel: string } | null> {
    const h = linkTokenHash(token);
    const key = this.key(h);
    const taken = parse(await this.valkey.getdel(key));
    const state = stateOf(h, taken, this.now());
    if (taken) {
      // Put back what was taken: marked used if this call used it, unchanged otherwise.
      const ttl = Math.max(1000, taken.expiresAt + REMEMBER_MS - this.now());
      const after: TokenRecord = state.state === 'valid' ? { ...taken, closed: 'used' } : taken;
      await this.valkey.set(key, JSON.stringify(after), 'PX', ttl);
    }
    return state.state === 'valid' ? { userId: state.userId, channel: state.channel } : null;
  }

  /** Makes a token unusable (shown where others could read it, or locked after failures). */
  async burn(token: string): Promise<boolean> {
    const h = linkTokenHash(token);
    const key = this.key(h);
    const current = parse(await this.valkey.get(key));
    if (!current || current.closed) return false;
    await this.valkey.set(key, JSON.stringify({ ...current, closed: 'cancelled' } satisfies TokenRecord), 'KEEPTTL');
    return true;
  }
}

const parse = (raw: string | null): TokenRecord | null => parseRecord(record, raw);

function stateOf(presentedHash: string, rec: TokenRecord | null, now: number): TokenState {
  // The key is the hash already; comparing the stored one in constant time as well costs nothing.
  if (!rec || !sameHash(rec.h, presentedHash)) return { state: 'unknown' };
  if (rec.closed) return { state: rec.closed, userId: rec.userId, channel: rec.channel };
  if (rec.expiresAt <= now) return { state: 'expired', userId: rec.userId, channel: rec.channel };
  return { state: 'valid', userId: rec.userId, channel: rec.channel, expiresAt: new Date(rec.expiresAt) };
}
