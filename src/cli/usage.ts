/** What CLI commands share: the error for a mistaken call and reading standard input. */
import { readFileSync } from 'node:fs';

/** A mistake in how the command was called: one line, exit code 1. */
export class UsageError extends Error {}

export function readStdin(what: string): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    throw new UsageError(`${what}: nothing could be read from standard input`);
  }
}
