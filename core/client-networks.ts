// The network a client address belongs to, as the API-key monitoring counts networks: an IPv4 /24 or
// an IPv6 /48 (a site's usual allocation), so a client moving between addresses of one site is one
// network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack socket reports IPv4) is
// the IPv4 address inside.
import { parseIpv4, parseIpv6, type IpAddress } from './egress-addresses.js';

/** The address as bytes, IPv4-mapped IPv6 as IPv4; undefined when it is not an address. */
export function clientAddress(ip: string): IpAddress | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return parseIpv4(ip);
  const v6 = parseIpv6(ip);
  if (!v6) return undefined;
  const mapped = v6.bytes.slice(0, 10).every((b) => b === 0) && v6.bytes[10] === 255 && v6.bytes[11] === 255;
  return mapped ? { version: 4, bytes: v6.bytes.slice(12) } : v6;
}

/** `a.b.c.0/24` or `xxxx:xxxx:xxxx::/48`; undefined when `ip` is not an address. */
export function networkOf(ip: string): string | undefined {
  const address = clientAddress(ip);
  if (!address) return undefined;
  const { bytes } = address;
  if (address.version === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.0/24`;
  const groups = [0, 2, 4].map((i) => ((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(':')}::/48`;
}
