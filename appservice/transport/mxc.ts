/**
 * Matrix content URIs, `mxc://<server-name>/<media-id>`, read by the
 * spec's grammar before any request is built from one: the server name as
 * the appendix defines it (a DNS name, an IPv4 address or a bracketed IPv6
 * address, with an optional port) and a media id of `A-Z a-z 0-9 _ -`
 * only. Anything else (`mxc://../..`, a path, a query) is not a content
 * URI and never reaches the media API.
 */
import { MAX_ID_BYTES } from './event-limits.ts';
import { isServerName } from './matrix-ids.ts';

export interface MxcParts {
  serverName: string;
  mediaId: string;
}

const MEDIA_ID = /^[A-Za-z0-9_-]+$/;

export function parseMxc(uri: string): MxcParts | null {
  if (uri.length > MAX_ID_BYTES * 2 || !uri.startsWith('mxc://')) return null;
  const rest = uri.slice('mxc://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return null;
  const serverName = rest.slice(0, slash);
  const mediaId = rest.slice(slash + 1);
  if (!isServerName(serverName) || !MEDIA_ID.test(mediaId)) return null;
  return { serverName, mediaId };
}
