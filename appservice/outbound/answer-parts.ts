/**
 * Long text → several Matrix messages. An event may carry at most
 * MAX_CONTENT_BYTES of content (transport/event-limits.ts), and a streamed
 * answer is edited: an edit carries the text twice (its own body and
 * `m.new_content`), each as plain text and as HTML. So a part is cut where
 * its *edit* still fits, at the last paragraph, line or word break before
 * the limit. The parts' bodies, one after the other, are exactly the text:
 * nothing is dropped or added. A part that starts inside a code block is
 * rendered as code (its HTML reopens the fence; its body does not).
 */
import { markdownContent, type TextContent } from '../translation/formatting.ts';
import { contentFits, MAX_CONTENT_BYTES, MAX_ID_BYTES } from '../transport/event-limits.ts';

/** What the last part carries besides its text: the routing line, `mosaic.routing`. */
export interface PartExtras {
  line?: { plain: string; html: string } | null;
  fields?: Record<string, unknown>;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})([^`\n]*)$/;

/** The fence line a text position is inside (`` ```ts ``), or null: what the next part's HTML reopens. */
export function openFenceAt(text: string, end: number): string | null {
  let open: { marker: string; line: string } | null = null;
  for (const line of text.slice(0, end).split('\n')) {
    const m = FENCE.exec(line);
    if (!m) continue;
    const marker = m[1]!;
    if (!open) open = { marker, line: line.trim() };
    else if (marker[0] === open.marker[0] && marker.length >= open.marker.length && !m[2]!.trim()) open = null;
  }
  return open?.line ?? null;
}

/** Message content of one part: body exactly the part's text (plus the routing line on the last). */
export function partContent(text: string, fence: string | null, extras: PartExtras = {}, msgtype: TextContent['msgtype'] = 'm.text'): TextContent {
  const line = extras.line ?? null;
  if (!fence) return markdownContent(text || '…', msgtype, line?.html ?? '', line?.plain ?? '');
  const rendered = markdownContent(`${fence}\n${text}`, msgtype, line?.html ?? '');
  return { ...rendered, body: text + (line?.plain ?? '') };
}

/** The first event of a part: its content, custom fields, and its relation to the question. */
export function messageContent(content: TextContent, fields: Record<string, unknown> = {}, relatesTo: Record<string, unknown> | null = null): Record<string, unknown> {
  return { ...content, ...fields, ...(relatesTo ? { 'm.relates_to': relatesTo } : {}) };
}

/** An edit (m.replace) of `eventId` to `content`. */
export function editContent(eventId: string, content: TextContent, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    msgtype: content.msgtype,
    body: `* ${content.body}`,
    ...(content.formatted_body ? { format: content.format, formatted_body: `* ${content.formatted_body}` } : {}),
    'm.new_content': { ...content, ...fields },
    'm.relates_to': { rel_type: 'm.replace', event_id: eventId },
    ...fields,
  };
}

/** Plain text only: what is sent when the full content was refused for good. */
export function plainContent(text: string, msgtype: TextContent['msgtype'] = 'm.text'): TextContent {
  return { msgtype, body: text || '…' };
}

const LONGEST_EVENT_ID = `$${'x'.repeat(MAX_ID_BYTES - 1)}`;

/** Whether a part with this text fits in an event even as an edit (the larger form), with its relation. */
export function partFits(text: string, fence: string | null, extras: PartExtras, relatesTo: Record<string, unknown> | null, build: (text: string, fence: string | null, extras: PartExtras) => TextContent = partContent): boolean {
  const content = build(text, fence, extras);
  const fields = extras.fields ?? {};
  return contentFits(editContent(LONGEST_EVENT_ID, content, fields)) && contentFits(messageContent(content, fields, relatesTo));
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Where to end the first part of `text` so that it fits: about the longest
 * prefix that fits (bisection), moved back to a paragraph, line or word
 * break in its last quarter when there is one. Never splits a surrogate
 * pair; at least one character.
 *
 * Each probe renders the prefix as markdown and encodes it, which costs
 * milliseconds for a part of tens of kilobytes, so the bisection stops once
 * the longest fitting prefix is known to within 1/64 of its length: the cut
 * moves back to a break in the last quarter anyway, and this halves the
 * probes (a 100 KB answer was split in seconds of blocked event loop).
 */
export function cutPoint(text: string, fits: (prefix: string) => boolean): number {
  const safe = (n: number) => (n > 1 && n < text.length && isHighSurrogate(text.charCodeAt(n - 1)) ? n - 1 : n);
  let lo = 1;
  // Each UTF-16 unit is at least one byte, and an edit carries the body twice: a longer prefix cannot fit.
  let hi = Math.min(text.length, Math.floor(MAX_CONTENT_BYTES / 2));
  if (!fits(text.slice(0, safe(lo)))) return safe(1) || 1;
  while (hi - lo > Math.max(1, lo >> 6)) {
    const mid = (lo + hi) >> 1;
    if (fits(text.slice(0, safe(mid)))) lo = mid;
    else hi = mid;
  }
  const longest = safe(lo);
  const floor = Math.floor(longest * 0.75);
  for (const brk of ['\n\n', '\n', ' ']) {
    const at = text.lastIndexOf(brk, longest - brk.length);
    if (at >= floor && at > 0) {
      const end = at + brk.length;
      if (fits(text.slice(0, end))) return end;
    }
  }
  return longest;
}

/**
 * Splits text into parts that each fit (the last with `extras`). Each part
 * is [start, end) of `text`; their concatenation is `text`.
 */
export function splitParts(text: string, extras: PartExtras, relatesTo: Record<string, unknown> | null, msgtype: TextContent['msgtype'] = 'm.text', from = 0, plain = false): Array<[number, number]> {
  const build = plain ? (t: string) => plainContent(t, msgtype) : (t: string, f: string | null, e: PartExtras) => partContent(t, f, e, msgtype);
  const parts: Array<[number, number]> = [];
  let start = from;
  for (;;) {
    const fence = plain ? null : openFenceAt(text, start);
    const rest = text.slice(start);
    // Only the first part relates to the question.
    const rel = parts.length === 0 && start === 0 ? relatesTo : null;
    if (partFits(rest, fence, extras, rel, build)) {
      parts.push([start, text.length]);
      return parts;
    }
    const cut = cutPoint(rest, (prefix) => partFits(prefix, fence, {}, rel, build));
    parts.push([start, start + cut]);
    start += cut;
  }
}
