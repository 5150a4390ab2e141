/** How an admin writes a retention: days, `null` for forever, or `"default"` to remove the override. */
import { z } from 'zod';
import { badRequest } from '../errors.ts';

export const MAX_RETENTION_DAYS = 36_500;

export const daysSetting = z
  .union([z.number().int().min(1).max(MAX_RETENTION_DAYS), z.null(), z.literal('default')])
  .describe('Days to keep messages (1–36500), null to keep them forever, or "default" to remove this override.');

/** The CLI's words for it: a number of days, `forever` or `default`. */
export function parseDaysWord(word: string): number | null | 'default' {
  if (word === 'forever') return null;
  if (word === 'default') return 'default';
  const n = Number(word);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RETENTION_DAYS) throw badRequest(`expected a number of days (1–${MAX_RETENTION_DAYS}), "forever" or "default", got "${word}"`);
  return n;
}
