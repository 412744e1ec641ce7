// IP allow-lists: does an address fall in one of a list of CIDR networks? The lists come from
// API-key rows (Postgres `cidr[]`, so well-formed); each list is compiled once and kept while the
// list itself is alive (a verified key's record holds it for its cache lifetime).
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const compiled = new WeakMap<readonly string[], BlockList>();

function blockListOf(cidrs: readonly string[]): BlockList {
  let list = compiled.get(cidrs);
  if (list) return list;
  list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits] = cidr.split('/');
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    list.addSubnet(address, Number(bits ?? (family === 'ipv4' ? 32 : 128)), family);
  }
  compiled.set(cidrs, list);
  return list;
}

/** Whether `ip` (IPv4, IPv6 or IPv4-mapped IPv6) lies in one of `cidrs`; garbage is never inside. */
export function ipInNetworks(ip: unknown, cidrs: readonly string[]): boolean {
  if (typeof ip !== 'string') return false;
  const address = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
  if (isIPv4(address)) return blockListOf(cidrs).check(address, 'ipv4');
  if (isIPv6(address)) return blockListOf(cidrs).check(address, 'ipv6');
  return false;
}
