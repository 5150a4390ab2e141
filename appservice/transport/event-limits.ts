/**
 * How big an event may be. The spec: at most 65,536 bytes "when formatted
 * with the federation event format" — the PDU the homeserver builds, whose
 * canonical JSON carries, besides the content, the sender, room id, type,
 * state key, origin_server_ts, depth, hashes, signatures, unsigned, and up
 * to 10 auth and 20 prev event ids. Synapse refuses more than 65,536 bytes
 * (`413 M_TOO_LARGE`); ruma (Conduit) refuses more than 65,535, so that is
 * the limit here.
 *
 * Mosaic sees only the content, so it keeps the content under the limit
 * minus a reserve for the envelope. The reserve is measured, not guessed:
 * `largestEnvelope()` builds the biggest envelope the spec allows (every id
 * at its 255-byte maximum, the maximum auth and prev events, a signature
 * under a 255-byte server name; 10,269 bytes) and
 * test/appservice/canonical-json.test.ts checks it fits in
 * ENVELOPE_RESERVE_BYTES. Real envelopes are far smaller (event ids of room
 * versions 4+ are 44 bytes, most events have 3 auth and 1 prev event), so
 * the content limit is conservative: 54,783 bytes.
 */
import { canonicalJsonBytes, encodeCanonicalJson } from './canonical-json.ts';

export const MAX_EVENT_BYTES = 65_535;
/** Room for what the homeserver adds to the content (see largestEnvelope). */
export const ENVELOPE_RESERVE_BYTES = 10_752;
export const MAX_CONTENT_BYTES = MAX_EVENT_BYTES - ENVELOPE_RESERVE_BYTES;
/** Ids (event, room, user, state key, type, transaction) are at most this many bytes. */
export const MAX_ID_BYTES = 255;

/** Whether content, once canonical, leaves room for the envelope. */
export function contentFits(content: unknown): boolean {
  return canonicalJsonBytes(content) <= MAX_CONTENT_BYTES;
}

/** The largest PDU envelope the spec allows, with `content` in it (for measuring the reserve). */
export function largestEnvelope(content: unknown = {}): Record<string, unknown> {
  const id = (sigil: string, fill: string) => `${sigil}${fill.repeat(MAX_ID_BYTES)}`.slice(0, MAX_ID_BYTES);
  const server = 's'.repeat(MAX_ID_BYTES);
  // Event ids of room versions 4+ are 44 bytes; those of versions 1–3 (`$local:server`) may be as long as any id.
  const eventIds = (n: number) => Array.from({ length: n }, (_, i) => id('$', String.fromCharCode(97 + (i % 26))));
  return {
    auth_events: eventIds(10),
    content,
    depth: Number.MAX_SAFE_INTEGER,
    hashes: { sha256: 'h'.repeat(43) },
    origin: server,
    origin_server_ts: Number.MAX_SAFE_INTEGER,
    prev_events: eventIds(20),
    redacts: id('$', 'r'),
    room_id: id('!', 'r'),
    sender: id('@', 'u'),
    signatures: { [server]: { [`ed25519:${'k'.repeat(64)}`]: 'g'.repeat(86) } },
    state_key: id('@', 'k'),
    type: id('m', 't'),
    unsigned: { age_ts: Number.MAX_SAFE_INTEGER, replaces_state: id('$', 'p') },
  };
}

/** Bytes the largest envelope adds to an empty content. */
export function largestEnvelopeBytes(): number {
  return Buffer.byteLength(encodeCanonicalJson(largestEnvelope({}), 'event')) - 2;
}
