// Which addresses an outbound request a tenant can steer (an SSO issuer, its JWKS, later webhooks
// and file imports) may reach. Pure: the egress guard (runtime/egress.ts) resolves names and asks
// here about every answer. Addresses are parsed to bytes, so every spelling of one address is
// classified alike: IPv4 in the forms inet_aton accepts (`2130706433`, `0x7f.1`, `017700000001`),
// IPv6 with `::`, an embedded dotted quad or a zone, and IPv4 inside IPv6 (mapped `::ffff:…`, NAT64
// `64:ff9b::/96`, 6to4 `2002::/16`) classified by the IPv4 address inside.

export interface IpAddress {
  version: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: number[];
}

/** One IPv4 part as inet_aton reads it: decimal, octal with a leading 0, or hex with 0x. */
function ipv4Part(part: string): number | undefined {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  if (/^0[0-7]*$/.test(part)) return parseInt(part, 8);
  if (/^[1-9][0-9]*$/.test(part)) return parseInt(part, 10);
  return undefined;
}

/** IPv4 in any form inet_aton (and the WHATWG URL parser) accepts: 1 to 4 parts, the last filling the rest. */
export function parseIpv4(text: string): IpAddress | undefined {
  const parts = text.replace(/\.$/, '').split('.');
  if (parts.length < 1 || parts.length > 4 || parts.some((p) => p === '' || p.length > 40)) return undefined;
  const values = parts.map(ipv4Part);
  if (values.some((v) => v === undefined || !Number.isFinite(v))) return undefined;
  const numbers = values as number[];
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255)) return undefined;
  const restBytes = 4 - numbers.length;
  if (last >= 2 ** (8 * restBytes)) return undefined;
  const bytes = [...numbers];
  for (let i = restBytes - 1; i >= 0; i--) bytes.push(Math.floor(last / 2 ** (8 * i)) % 256);
  return { version: 4, bytes };
}

/** IPv6 text (brackets and a `%zone` allowed) to 16 bytes. */
export function parseIpv6(text: string): IpAddress | undefined {
  let body = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (!/^[0-9a-f:.]+$/i.test(body) || !body.includes(':')) return undefined;
  let tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted) {
    if (!/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(dotted[1]!))
      return undefined;
    tail = dotted[1]!.split('.').map(Number);
    body = `${body.slice(0, dotted.index)}:0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const bytes = all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 255];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return { version: 6, bytes };
}

/** An address literal in any accepted spelling, or undefined for a name. */
export function parseIp(text: string): IpAddress | undefined {
  return parseIpv6(text) ?? (/^[0-9a-fx.]+$/i.test(text) ? parseIpv4(text) : undefined);
}

export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return ip.bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i]! << 8) | ip.bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** A host name as compared: lower case, without brackets or trailing dots. */
export function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.+$/, '');
}

export interface Network {
  ip: IpAddress;
  prefix: number;
}

/** `a.b.c.d/n`, `x::y/n` or a single address (a /32 or /128). */
export function parseNetwork(text: string): Network | undefined {
  const [address = '', bits, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const ip = parseIpv6(address) ?? (/^(\d{1,3}\.){3}\d{1,3}$/.test(address) ? parseIpv4(address) : undefined);
  if (!ip) return undefined;
  const max = ip.version === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return undefined;
  return { ip, prefix };
}

function within(bytes: number[], network: number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((bytes[bit >> 3]! & mask) !== (network[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any. */
export function embeddedIpv4(ip: IpAddress): IpAddress | undefined {
  if (ip.version === 4) return undefined;
  const b = ip.bytes;
  const net = (text: string, prefix: number) => within(b, parseIpv6(text)!.bytes, prefix);
  if (net('::ffff:0:0', 96) || net('64:ff9b::', 96)) return { version: 4, bytes: b.slice(12) };
  if (net('2002::', 16)) return { version: 4, bytes: b.slice(2, 6) };
  return undefined;
}

/** Whether `ip` lies in `network`; an IPv4-mapped IPv6 address counts as its IPv4 address. */
export function inNetwork(ip: IpAddress, network: Network): boolean {
  const mapped = ip.version === 6 && within(ip.bytes, parseIpv6('::ffff:0:0')!.bytes, 96);
  const address =
    ip.version === 6 && network.ip.version === 4 && mapped
      ? { version: 4 as const, bytes: ip.bytes.slice(12) }
      : ip;
  if (!address || address.version !== network.ip.version) return false;
  return within(address.bytes, network.ip.bytes, network.prefix);
}

const ipv4Refused: [string, string][] = [
  ['169.254.169.254/32', 'metadata'],
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'this network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared address space (CGNAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];

// IPv6: only global unicast (2000::/3) is reachable, less its special blocks; outside it, the IPv4
// forms above are judged by their IPv4 address and everything else is refused with its name.
const ipv6Refused: [string, string][] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'metadata'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
  ['64:ff9b:1::/48', 'NAT64 local use'],
  ['100::/64', 'discard-only'],
  ['2001::/32', 'Teredo'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'IETF protocol assignments'],
  ['3fff::/20', 'documentation'],
];

const compile = (list: [string, string][]) =>
  list.map(([cidr, name]) => ({ network: parseNetwork(cidr)!, name }));
const ipv4Networks = compile(ipv4Refused);
const ipv6Networks = compile(ipv6Refused);
const globalUnicast = parseNetwork('2000::/3')!;

/**
 * Why an address may not be reached by a tenant-steered request (`loopback`, `private`, `metadata`,
 * …), or undefined for a public address.
 */
export function refusedRange(ip: IpAddress): string | undefined {
  if (ip.version === 4)
    return ipv4Networks.find((n) => within(ip.bytes, n.network.ip.bytes, n.network.prefix))?.name;
  const inner = embeddedIpv4(ip);
  if (inner) {
    const name = refusedRange(inner);
    return name === undefined ? undefined : `${name} (IPv4 inside IPv6)`;
  }
  const named = ipv6Networks.find((n) => within(ip.bytes, n.network.ip.bytes, n.network.prefix))?.name;
  if (named) return named;
  return inNetwork(ip, globalUnicast) ? undefined : 'reserved';
}

/** The operator's allow-list: host names (exact) and networks, from EGRESS_ALLOW_HOSTS. */
export interface EgressAllowList {
  hosts: Set<string>;
  networks: Network[];
}

const hostNamePattern =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Parses the allow-list's entries; throws naming the first entry that is neither a host nor a network. */
export function parseAllowList(entries: readonly string[]): EgressAllowList {
  const list: EgressAllowList = { hosts: new Set(), networks: [] };
  for (const entry of entries) {
    const network = parseNetwork(entry);
    if (network) list.networks.push(network);
    else if (hostNamePattern.test(normalizeHost(entry)) && !parseIp(normalizeHost(entry)))
      list.hosts.add(normalizeHost(entry));
    else throw new Error(`"${entry}" is neither a host name nor an IP address or CIDR network`);
  }
  return list;
}

/** Whether a tenant-steered request may reach `ip` (named `host` in its URL). */
export function egressAllowed(ip: IpAddress, host: string, allow: EgressAllowList): boolean {
  if (allow.hosts.has(normalizeHost(host))) return true;
  if (allow.networks.some((n) => inNetwork(ip, n))) return true;
  return refusedRange(ip) === undefined;
}
