/**
 * What the link secrets (tokens, browser states, form tokens) share: only
 * their SHA-256 is stored, compared in constant time, and records read
 * back from Valkey are validated before use.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';

export const sha256Hex = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** Constant-time equality of two hashes. */
export const sameHash = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** A JSON record read from Valkey, or null when absent or not of the expected shape. */
export function parseRecord<T>(schema: z.ZodType<T>, raw: string | null): T | null {
  if (raw === null) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
