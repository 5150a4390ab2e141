/** Request validation with zod: a failure is a 400 naming each bad field. */
import type { z } from 'zod';
import { badRequest } from '../errors.ts';

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw badRequest(problems.join('; '), { problems });
}
