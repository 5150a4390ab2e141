/** Deterministic ids: the same inbound message always leads to the same reply id. */
import { createHash } from 'node:crypto';

/** A UUID-shaped id derived from a name (version nibble 8: custom, RFC 9562). */
export function derivedUuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const replyIdFor = (userMessageId: string): string => derivedUuid(`mosaic:reply:${userMessageId}`);
export const noticeIdFor = (messageId: string): string => derivedUuid(`mosaic:notice:${messageId}`);
