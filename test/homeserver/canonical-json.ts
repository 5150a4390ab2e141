/**
 * What real homeservers enforce on events beyond their schemas: canonical
 * JSON (room versions 6+; Synapse's validate_canonicaljson, ruma's
 * CanonicalJsonValue), the size of the event as the homeserver builds it
 * (the PDU, with its envelope), and id lengths. See README.md for where
 * Synapse and Conduit differ and which one this follows.
 */
import { MatrixError } from './router.ts';

/** The spec's integer range for canonical JSON. */
const MAX_INT = 2n ** 53n - 1n;
/** ruma refuses PDUs over 65,535 bytes; Synapse over 65,536. The stricter one. */
export const MAX_PDU_BYTES = 65_535;
export const MAX_ID_BYTES = 255;

const badJson = (msg: string) => new MatrixError(400, 'M_BAD_JSON', msg);

/**
 * Scans JSON text for number tokens canonical JSON forbids: a fraction or
 * exponent (Synapse's Python parser reads `1.0` and `1e3` as floats and
 * refuses them, even where JavaScript sees an integer) and integers beyond
 * ±(2^53 − 1). Returns the problem, or null. The text is valid JSON.
 */
export function nonCanonicalNumber(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c !== '-' && (c < '0' || c > '9')) continue;
    let j = i;
    while (j < text.length && /[-+0-9.eE]/.test(text[j]!)) j++;
    const token = text.slice(i, j);
    if (/[.eE]/.test(token)) return `Bad JSON value: float (${token})`;
    const n = BigInt(token);
    if (n > MAX_INT || n < -MAX_INT) return `JSON integer out of range (${token})`;
    i = j - 1;
  }
  return null;
}

/** The same rule on parsed values (what reaches the event store by any path). */
export function nonCanonicalValue(value: unknown, path = 'content'): string | null {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return `Bad JSON value: float at ${path}`;
    if (!Number.isSafeInteger(value)) return `JSON integer out of range at ${path}`;
    return null;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const problem = nonCanonicalValue(v, `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const problem = nonCanonicalValue(v, `${path}.${k}`);
      if (problem) return problem;
    }
  }
  return null;
}

/** Refuses a request body that is not canonical JSON, as Synapse does (`400 M_BAD_JSON`). */
export function requireCanonicalText(rawBody: Buffer): void {
  if (rawBody.length === 0) return;
  const problem = nonCanonicalNumber(rawBody.toString('utf8'));
  if (problem) throw badJson(problem);
}

/** Canonical JSON text of a value (sorted keys, no whitespace), for measuring. */
export function canonicalText(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalText).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalText(v)}`).join(',')}}`;
}

export const idTooLong = (what: string, id: string): boolean => Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES;

/**
 * Refuses ids in request paths over 255 bytes (`400 M_INVALID_PARAM`): room
 * and event ids can never be that long, and a transaction id that long is
 * not one Synapse or Conduit store.
 */
export function requireShortIds(params: Record<string, string>): void {
  for (const name of ['roomId', 'eventId', 'txnId', 'userId', 'roomIdOrAlias', 'roomAlias']) {
    const v = params[name];
    if (v !== undefined && idTooLong(name, v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} is longer than ${MAX_ID_BYTES} bytes`);
  }
}

export interface PduInput {
  type: string;
  sender: string;
  roomId: string;
  content: Record<string, unknown>;
  stateKey?: string;
  redacts?: string;
  originServerTs: number;
  depth: number;
  authEvents: string[];
  prevEvents: string[];
  serverName: string;
}

/**
 * The event as this server would build it for federation (room version
 * 10): the content plus the envelope — auth and prev event ids, depth,
 * hashes, a signature, origin, timestamps, unsigned. Its canonical JSON is
 * what the spec's size limit measures.
 */
export function buildPdu(p: PduInput): Record<string, unknown> {
  return {
    auth_events: p.authEvents,
    content: p.content,
    depth: p.depth,
    hashes: { sha256: 'A'.repeat(43) },
    origin: p.serverName,
    origin_server_ts: p.originServerTs,
    prev_events: p.prevEvents,
    room_id: p.roomId,
    sender: p.sender,
    signatures: { [p.serverName]: { 'ed25519:a_test': 'S'.repeat(86) } },
    type: p.type,
    unsigned: { age_ts: p.originServerTs },
    ...(p.stateKey !== undefined ? { state_key: p.stateKey } : {}),
    ...(p.redacts !== undefined ? { redacts: p.redacts } : {}),
  };
}

/**
 * The checks Synapse's event_auth._check_size_limits and ruma's
 * check_pdu_format make on a new event: canonical JSON values, each id
 * field at most 255 bytes, the whole PDU at most MAX_PDU_BYTES
 * (`413 M_TOO_LARGE`).
 */
export function checkNewEvent(p: PduInput): void {
  const problem = nonCanonicalValue(p.content);
  if (problem) throw badJson(problem);
  for (const [field, value] of [['sender', p.sender], ['room_id', p.roomId], ['type', p.type], ['state_key', p.stateKey]] as const) {
    if (value !== undefined && idTooLong(field, value)) throw new MatrixError(413, 'M_TOO_LARGE', `'${field}' too large`);
  }
  const bytes = Buffer.byteLength(canonicalText(buildPdu(p)), 'utf8');
  if (bytes > MAX_PDU_BYTES) throw new MatrixError(413, 'M_TOO_LARGE', `event too large: ${bytes} bytes as a PDU, more than ${MAX_PDU_BYTES}`);
}
