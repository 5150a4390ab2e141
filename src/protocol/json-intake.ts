/**
 * The one check every JSON value entering Mosaic passes after it is parsed
 * (REST bodies and query strings, socket frames, Matrix events) and before
 * anything is stored, stringified or matched: text PostgreSQL cannot store
 * or that no honest client sends (NUL, lone UTF-16 surrogates), nesting
 * deeper than a real message needs, more values than a body of that size
 * can hold honestly. Which numbers must be integers is each schema's
 * business (zod at the REST routes, the event check for Matrix).
 *
 * One walk, iterative and linear in the size of the value: it never
 * recurses, so a body nested 10,000 levels costs no stack.
 */

declare global {
  interface String {
    /** ES2024; in every Node this project runs on (20+). */
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

export interface IntakeLimits {
  /** Containers (objects, arrays) nested deeper than this are refused. */
  maxDepth: number;
  /** Values (strings, numbers, containers…) in total; bounds work on bodies of small tokens. */
  maxValues?: number;
}

export type IntakeReason = 'nul' | 'lone_surrogate' | 'too_deep' | 'too_many_values';

export interface IntakeProblem {
  /** Where, as `body.messages.3.content` (the root is the `where` given). */
  path: string;
  reason: IntakeReason;
  /** A sentence naming the field and what is wrong, for the person who sent it. */
  message: string;
}

/** Limits for REST bodies and socket frames: no legitimate request nests deeper than a few levels. */
export const API_LIMITS: IntakeLimits = { maxDepth: 32, maxValues: 100_000 };

/** Why a string cannot be accepted, or null. */
export function textProblem(s: string): 'nul' | 'lone_surrogate' | null {
  if (s.includes('\u0000')) return 'nul';
  if (!s.isWellFormed()) return 'lone_surrogate';
  return null;
}

const MESSAGES: Record<IntakeReason, (path: string, limits: IntakeLimits) => string> = {
  nul: (p) => `${p} contains a NUL character (U+0000), which Mosaic does not accept in text`,
  lone_surrogate: (p) => `${p} contains an unpaired UTF-16 surrogate (invalid Unicode text)`,
  too_deep: (p, l) => `${p} is nested more than ${l.maxDepth} levels deep`,
  too_many_values: (p, l) => `${p} holds more than ${l.maxValues} values`,
};

const problem = (path: string, reason: IntakeReason, limits: IntakeLimits): IntakeProblem => ({ path, reason, message: MESSAGES[reason](path, limits) });

/** A path segment as a person reads it: `a.b`, `a.3`, `a["odd key"]`. */
function child(path: string, key: string | number): string {
  if (typeof key === 'number' || /^[A-Za-z_$][\w$-]*$/.test(key)) return `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * The first problem of a parsed JSON value, or null when it may enter.
 * Object keys are text too and are checked like values.
 */
export function inspectJson(value: unknown, limits: IntakeLimits, where = 'body'): IntakeProblem | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: where, depth: 0 }];
  let count = 0;
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (limits.maxValues !== undefined && ++count > limits.maxValues) return problem(where, 'too_many_values', limits);
    if (typeof v === 'string') {
      const bad = textProblem(v);
      if (bad) return problem(item.path, bad, limits);
    } else if (v !== null && typeof v === 'object') {
      if (item.depth >= limits.maxDepth) return problem(item.path, 'too_deep', limits);
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: child(item.path, i), depth: item.depth + 1 });
      } else {
        const keys = Object.keys(v);
        for (let i = keys.length - 1; i >= 0; i--) {
          const key = keys[i]!;
          const bad = textProblem(key);
          // The key itself is shown escaped, so the message stays printable.
          if (bad) return problem(`${item.path}[${JSON.stringify(key)}]`, bad, limits);
          stack.push({ value: (v as Record<string, unknown>)[key], path: child(item.path, key), depth: item.depth + 1 });
        }
      }
    }
  }
  return null;
}

/** Byte length of a string in UTF-8 (Matrix limits identifiers in bytes). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Text of our own making (an error message that may quote an event) as the
 * database can store it: NUL and lone surrogates become U+FFFD. Input is
 * refused, never repaired; this is for what Mosaic writes about it.
 */
export function storableText(s: string, maxLength = 1000): string {
  return s.slice(0, maxLength).replaceAll('\u0000', '\uFFFD').toWellFormed();
}
