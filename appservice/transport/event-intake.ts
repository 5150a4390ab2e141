/**
 * Whether a pushed event may enter the journal at all. Every event passes
 * the one intake walk (src/protocol/json-intake.ts) — no NUL or broken
 * Unicode, bounded nesting — plus the spec's own limits: identifiers of
 * at most 255 bytes, content within the event limit, and an integer
 * `origin_server_ts` (the journal orders by it). A homeserver would
 * not send anything else; whatever does is skipped with a log line and
 * the transaction is still acknowledged, so it cannot hold up the rooms.
 */
import { inspectJson, utf8Length, type IntakeLimits } from '../../src/protocol/json-intake.ts';
import { MAX_EVENT_BYTES, MAX_ID_BYTES } from './event-limits.ts';

/** Matrix events nest a few levels (content → m.relates_to → m.in_reply_to); 64 leaves room for any real one. */
export const MATRIX_LIMITS: IntakeLimits = { maxDepth: 64, maxValues: 40_000 };

const ID_FIELDS = ['event_id', 'room_id', 'sender', 'type', 'state_key'] as const;

/** Why an event cannot be used at all, or null when it is well-formed. */
export function malformation(e: unknown): string | null {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not an object';
  const ev = e as Record<string, unknown>;
  for (const field of ID_FIELDS) {
    const v = ev[field];
    if (typeof v === 'string' && utf8Length(v) > MAX_ID_BYTES) return `${field} is longer than ${MAX_ID_BYTES} bytes`;
  }
  if (typeof ev.event_id !== 'string' || !ev.event_id.startsWith('$')) return 'event_id missing or invalid';
  if (typeof ev.room_id !== 'string' || !ev.room_id.startsWith('!')) return 'room_id missing or invalid';
  if (typeof ev.type !== 'string' || !ev.type) return 'type missing';
  if (typeof ev.sender !== 'string' || !/^@[^:]+:.+$/.test(ev.sender)) return 'sender missing or invalid';
  if (typeof ev.content !== 'object' || ev.content === null || Array.isArray(ev.content)) return 'content missing or not an object';
  if (!Number.isSafeInteger(ev.origin_server_ts)) return 'origin_server_ts missing or not an integer';
  if (ev.state_key !== undefined && typeof ev.state_key !== 'string') return 'state_key is not a string';
  const found = inspectJson(e, MATRIX_LIMITS, 'event');
  if (found) return found.message;
  // The homeserver held the whole event to this limit, so its content alone cannot be larger (unsigned, which it adds later, may be).
  if (utf8Length(JSON.stringify(ev.content)) > MAX_EVENT_BYTES) return `content is larger than ${MAX_EVENT_BYTES} bytes`;
  return null;
}

/** What may be recorded of a skipped event: its identifiers when they are storable, never its content. */
export function skippedRecord(e: unknown): { event_id: string; room_id?: string; type?: string; sender?: string } | null {
  if (typeof e !== 'object' || e === null) return null;
  const ev = e as Record<string, unknown>;
  const storable = (v: unknown): v is string => typeof v === 'string' && utf8Length(v) <= MAX_ID_BYTES && inspectJson(v, MATRIX_LIMITS) === null;
  if (!storable(ev.event_id)) return null;
  return { event_id: ev.event_id, ...(storable(ev.room_id) ? { room_id: ev.room_id } : {}), ...(storable(ev.type) ? { type: ev.type } : {}), ...(storable(ev.sender) ? { sender: ev.sender } : {}) };
}
