/** Request validation with zod: a failure is a 400 naming each bad field. */
import { z } from 'zod';
import { badRequest } from '../errors.ts';

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw badRequest(problems.join('; '), { problems });
}

/**
 * A date in a query string (`since=2026-01-01`), within years 1970–9999:
 * JavaScript accepts ±275,760 years, the database does not.
 */
export const queryDate = z.coerce
  .date({ error: 'expected a date such as 2026-01-01' })
  .min(new Date('1970-01-01T00:00:00Z'), 'must be on or after 1970-01-01')
  .max(new Date('9999-12-31T23:59:59Z'), 'must be before the year 10000');
