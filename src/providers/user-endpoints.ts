/**
 * Base URLs users give with their own provider keys. A base URL is an
 * address the server will call on a user's behalf, so it is off unless the
 * admin allows it (`providers.userBaseUrls.enabled`), and even then never
 * an address inside the server's own networks — loopback, link-local
 * (cloud metadata), private, carrier-grade NAT, unique-local, multicast —
 * unless the admin says so too (`allowPrivateAddresses`).
 *
 * Checked twice: when the URL is stored (a clear 400), and on every
 * connection, because DNS may answer differently later. The connection
 * check resolves the name itself, refuses any forbidden answer, and
 * connects to the address it checked (pinned), so a second lookup cannot
 * slip another address in; redirects go through the same check.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { MosaicError } from '../errors.ts';

export interface UserEndpointPolicy {
  /** Users may give a base URL with their own key. */
  enabled: boolean;
  /** Such URLs may point at loopback/private/link-local addresses (a trusted network's own proxy). */
  allowPrivateAddresses: boolean;
}

export type Resolve = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolve: Resolve = (host) => dnsLookup(host, { all: true, verbatim: true });

export class UserEndpointRefused extends MosaicError {
  constructor(message: string) {
    super('base_url_refused', message, { httpStatus: 400, userNotice: `Your stored provider base URL cannot be used: ${message}` });
  }
}

const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['100::', 64]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');

/** An IPv4 address carried inside an IPv6 one (mapped ::ffff:a.b.c.d, or NAT64 64:ff9b::/96), else null. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return null;
  const hi = parseInt(hex[1]!, 16);
  const lo = parseInt(hex[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether an IP address is inside the server's own networks (loopback, private, link-local…). */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return INTERNAL.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    return v4 !== null ? INTERNAL.check(v4, 'ipv4') : INTERNAL.check(address, 'ipv6');
  }
  return true;
}

const bare = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** The addresses a host may be connected to under the policy; throws when any answer is forbidden. */
export async function permittedAddresses(host: string, policy: UserEndpointPolicy, resolve: Resolve = systemResolve): Promise<Array<{ address: string; family: number }>> {
  const name = bare(host);
  const answers = isIP(name) ? [{ address: name, family: isIP(name) }] : await resolve(name).catch((err: unknown) => {
    throw new UserEndpointRefused(`the host "${name}" does not resolve (${(err as { code?: string }).code ?? 'lookup failed'})`);
  });
  if (answers.length === 0) throw new UserEndpointRefused(`the host "${name}" does not resolve`);
  if (!policy.allowPrivateAddresses) {
    const internal = answers.find((a) => isInternalAddress(a.address));
    // Every answer is checked: a name that resolves to one public and one private address is refused.
    if (internal) throw new UserEndpointRefused(`"${name}" resolves to ${internal.address}, an address inside the server's own network; the admin has not allowed those (providers.userBaseUrls.allowPrivateAddresses)`);
  }
  return answers;
}

/** The check at store time: a clear refusal before anything is saved. */
export async function checkUserBaseUrl(raw: string, policy: UserEndpointPolicy, resolve: Resolve = systemResolve): Promise<void> {
  if (!policy.enabled) throw new UserEndpointRefused('custom base URLs are turned off on this server (the admin enables them with providers.userBaseUrls.enabled)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserEndpointRefused('the base URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UserEndpointRefused('the base URL must be http:// or https://');
  if (url.username || url.password) throw new UserEndpointRefused('the base URL must not carry a user name or password; give the key as apiKey');
  await permittedAddresses(url.hostname, policy, resolve);
}

/**
 * A fetch for requests to user base URLs: every connection (redirects
 * included) resolves and checks its host, then connects to the checked
 * address, keeping the name for TLS.
 */
export function userEndpointFetch(policy: UserEndpointPolicy, resolve: Resolve = systemResolve): typeof fetch {
  if (!policy.enabled) {
    return (async () => {
      throw new UserEndpointRefused('custom base URLs are turned off on this server (the admin enables them with providers.userBaseUrls.enabled)');
    }) as typeof fetch;
  }
  const direct = buildConnector({});
  const agent = new Agent({
    connect: (options, callback) => {
      const host = bare(options.hostname);
      permittedAddresses(host, policy, resolve).then(
        ([first]) => direct({ ...options, hostname: first!.address, ...(isIP(host) ? {} : { servername: options.servername ?? host }) }, callback),
        (err: unknown) => callback(err as Error, null),
      );
    },
  });
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;
}

/** The refusal inside an SDK's connection error (the SDKs wrap what fetch throws), or null. */
export function endpointRefusalIn(err: unknown): UserEndpointRefused | null {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof UserEndpointRefused) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
