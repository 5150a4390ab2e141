/**
 * Matrix user ids and server names, by the grammar of the specification's appendix:
 * `@localpart:server_name`, at most 255 bytes. Localparts are checked
 * against the historical grammar (printable ASCII except `:`), which
 * servers must still accept for accounts made before the strict one; the
 * server name is a DNS name, an IPv4 address or a bracketed IPv6 address,
 * with an optional port (1–5 digits, at most 65535).
 */
import { MAX_ID_BYTES } from './event-limits.ts';

const LOCALPART = /^[\x21-\x39\x3B-\x7E]+$/;
const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/;
const IPV6 = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
const PORT = /^\d{1,5}$/;

/** Why this is not a Matrix user id, or null when it is one. */
export function matrixUserIdProblem(id: string): string | null {
  if (Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) return `is longer than ${MAX_ID_BYTES} bytes`;
  if (!id.startsWith('@')) return 'must start with @ (like @alice:example.org)';
  const colon = id.indexOf(':');
  if (colon < 0) return 'needs a server name after a colon (like @alice:example.org)';
  const localpart = id.slice(1, colon);
  if (!localpart) return 'has an empty localpart';
  if (!LOCALPART.test(localpart)) return 'has a localpart with characters Matrix does not allow (spaces, control or non-ASCII characters)';
  return serverNameProblem(id.slice(colon + 1));
}

/** Why this is not a server name (`host[:port]`), or null when it is one. */
export function serverNameProblem(serverName: string): string | null {
  let host = serverName;
  const portAt = serverName.startsWith('[') ? serverName.indexOf(']:') + 1 : serverName.lastIndexOf(':');
  if (portAt > 0) {
    const port = serverName.slice(portAt + 1);
    if (!PORT.test(port) || Number(port) > 65535) return `has a server name with an invalid port ("${port}")`;
    host = serverName.slice(0, portAt);
  }
  // An IPv4 address is also a dns-name by the grammar's characters.
  if (IPV6.test(host) || DNS_NAME.test(host)) return null;
  return `has an invalid server name ("${serverName.slice(0, 80)}")`;
}

export function isServerName(serverName: string): boolean {
  return serverNameProblem(serverName) === null;
}
