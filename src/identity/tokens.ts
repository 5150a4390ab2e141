/**
 * Personal access tokens: 32 random bytes, shown once, stored as SHA-256.
 * A fast hash is right here: the token has 256 bits of entropy, so nothing
 * can be guessed from the hash, and every request must look it up quickly.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'mos_';

export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What may be shown of a token after creation. */
export function tokenDisplayPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 6);
}
