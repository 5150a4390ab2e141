/**
 * The CLI's words for a retention: a number of days, `forever` or `default`.
 * Kept apart from the zod schema (days-setting.ts) because the CLI loads this
 * for every command, `--help` included, and must stay light.
 */
import { badRequest } from '../errors.ts';

export const MAX_RETENTION_DAYS = 36_500;

export function parseDaysWord(word: string): number | null | 'default' {
  if (word === 'forever') return null;
  if (word === 'default') return 'default';
  const n = Number(word);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RETENTION_DAYS) throw badRequest(`expected a number of days (1–${MAX_RETENTION_DAYS}), "forever" or "default", got "${word}"`);
  return n;
}
