/**
 * The one encoder at the Matrix edge. Room versions 6 and later require
 * event content in canonical JSON (the spec's appendix "Canonical JSON"):
 * no floating-point numbers, integers within ±(2^53 − 1), UTF-8, keys
 * sorted, no whitespace. Synapse answers anything else with
 * `400 M_BAD_JSON` ("Bad JSON value: float"), Conduit (ruma) refuses it too.
 *
 * What the spec forbids but has an honest equivalent is turned into it:
 * - a fraction (0.43) becomes its shortest decimal string ("0.43"): exact,
 *   readable, and parsed back with `Number()`; a whole number stays a number;
 * - -0 becomes 0;
 * - a lone UTF-16 surrogate (not encodable in UTF-8) becomes U+FFFD;
 * - an object member whose value is `undefined` is left out (as JSON does).
 * What has no equivalent is refused with a CanonicalJsonError naming where
 * it is: NaN, ±Infinity, integers beyond ±(2^53 − 1) (they are already
 * wrong in a JS number), bigints beyond that range, `undefined`, functions
 * or symbols inside arrays, functions and symbols as values, class instances
 * (Date, Map, Buffer…: JSON.stringify would silently turn them into `{}` or
 * a string) and cycles.
 */
import { MosaicError } from '../../src/errors.ts';

export type CanonicalJson = null | boolean | number | string | CanonicalJson[] | { [key: string]: CanonicalJson };

/** The spec's range of integers: [-(2^53) + 1, (2^53) - 1]. */
export const MAX_CANONICAL_INT = Number.MAX_SAFE_INTEGER;

export class CanonicalJsonError extends MosaicError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super('matrix_canonical_json', `cannot send ${path} to Matrix: ${problem} (events must be canonical JSON)`, { httpStatus: 500, details: { path } });
    this.name = 'CanonicalJsonError';
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function canonicalString(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

function canonicalNumber(n: number, path: string): number | string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(path, `${n} is not a JSON number`);
  if (Number.isInteger(n)) {
    if (Math.abs(n) > MAX_CANONICAL_INT) throw new CanonicalJsonError(path, `the integer ${n} is outside ±(2^53 − 1)`);
    return n === 0 ? 0 : n;
  }
  return String(n);
}

const childPath = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

function convert(value: unknown, path: string, seen: Set<object>): CanonicalJson | undefined {
  switch (typeof value) {
    case 'string':
      return canonicalString(value);
    case 'number':
      return canonicalNumber(value, path);
    case 'boolean':
      return value;
    case 'bigint':
      if (value > BigInt(MAX_CANONICAL_INT) || value < -BigInt(MAX_CANONICAL_INT)) throw new CanonicalJsonError(path, `the integer ${value} is outside ±(2^53 − 1)`);
      return Number(value);
    case 'undefined':
      return undefined;
    case 'function':
    case 'symbol':
      throw new CanonicalJsonError(path, `a ${typeof value} is not JSON`);
    default:
      break;
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) throw new CanonicalJsonError(path, 'the value refers to itself');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return obj.map((item, i) => {
        const out = convert(item, childPath(path, i), seen);
        if (out === undefined) throw new CanonicalJsonError(childPath(path, i), 'undefined is not JSON');
        return out;
      });
    }
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(path, `a ${(obj.constructor as { name?: string } | undefined)?.name ?? 'class'} instance is not plain JSON`);
    const out: Record<string, CanonicalJson> = {};
    for (const [key, v] of Object.entries(obj)) {
      const converted = convert(v, childPath(path, key), seen);
      if (converted !== undefined) out[canonicalString(key)] = converted;
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}

/** The value turned into what canonical JSON allows (see above), or a CanonicalJsonError. */
export function toCanonicalJson(value: unknown, path = 'content'): CanonicalJson {
  const out = convert(value, path, new Set());
  if (out === undefined) throw new CanonicalJsonError(path, 'undefined is not JSON');
  return out;
}

/** Code-point order, which canonical JSON sorts keys by (UTF-16 order differs above U+FFFF). */
function byCodePoint(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function serialise(v: CanonicalJson): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(serialise).join(',')}]`;
  const keys = Object.keys(v).sort(byCodePoint);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${serialise(v[k]!)}`).join(',')}}`;
}

/** Canonical JSON text of a value: converted as above, keys sorted, no whitespace. */
export function encodeCanonicalJson(value: unknown, path = 'content'): string {
  return serialise(toCanonicalJson(value, path));
}

/** Bytes of the value's canonical JSON in UTF-8. */
export function canonicalJsonBytes(value: unknown, path = 'content'): number {
  return Buffer.byteLength(encodeCanonicalJson(value, path), 'utf8');
}
