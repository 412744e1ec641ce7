// Which country an address is registered in, from a table of address ranges the operator supplies
// (IP_COUNTRY_RANGES_FILE): one range per line, `first,last,country` — the CSV of DB-IP's free "IP to
// Country Lite" database as published, IPv4 and IPv6 mixed. An address in no range, or in a range
// whose country is `ZZ` or `-` (reserved, unassigned, anonymizers), has no country: the API-key
// monitoring reports a key used from such an address. Pure: the file is read by the caller.
import { clientAddress } from './client-networks.js';
import type { IpAddress } from './egress-addresses.js';

interface Ranges {
  starts: bigint[];
  ends: bigint[];
  countries: (string | null)[];
}

/** The address as one number, IPv4 and IPv6 each in their own space. */
function numberOf(address: IpAddress): bigint {
  return address.bytes.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

function countryOf(code: string): string | null {
  const upper = code.toUpperCase();
  return upper === 'ZZ' || upper === '-' ? null : upper;
}

export class IpCountries {
  private constructor(
    private readonly v4: Ranges,
    private readonly v6: Ranges,
  ) {}

  /** Parses the table; throws naming the first bad line (a wrong file must stop the start, not pass every address). */
  static parse(text: string): IpCountries {
    const rows: Record<4 | 6, { start: bigint; end: bigint; country: string | null }[]> = { 4: [], 6: [] };
    const lines = text.split('\n');
    lines.forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const where = `line ${index + 1}`;
      const [first = '', last = '', code, ...extra] = line
        .split(',')
        .map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
      if (code === undefined || extra.length > 0) throw new Error(`${where}: expected first,last,country`);
      const start = clientAddress(first);
      const end = clientAddress(last);
      if (!start || !end) throw new Error(`${where}: ${!start ? first : last} is not an IP address`);
      if (start.version !== end.version)
        throw new Error(`${where}: ${first} and ${last} are of different families`);
      if (!/^([A-Za-z]{2}|-)$/.test(code))
        throw new Error(`${where}: ${code} is not a two-letter country code`);
      const range = { start: numberOf(start), end: numberOf(end), country: countryOf(code) };
      if (range.start > range.end) throw new Error(`${where}: ${first} comes after ${last}`);
      rows[start.version].push(range);
    });
    const compile = (list: (typeof rows)[4], family: string): Ranges => {
      list.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      for (let i = 1; i < list.length; i++)
        if (list[i]!.start <= list[i - 1]!.end) throw new Error(`the ${family} ranges overlap`);
      return {
        starts: list.map((r) => r.start),
        ends: list.map((r) => r.end),
        countries: list.map((r) => r.country),
      };
    };
    return new IpCountries(compile(rows[4], 'IPv4'), compile(rows[6], 'IPv6'));
  }

  get size(): number {
    return this.v4.starts.length + this.v6.starts.length;
  }

  /** The two-letter country of `ip`, or null when it has none (or is not an address). */
  countryOf(ip: string): string | null {
    const address = clientAddress(ip);
    if (!address) return null;
    const ranges = address.version === 4 ? this.v4 : this.v6;
    const n = numberOf(address);
    // The last range starting at or before the address.
    let low = 0;
    let high = ranges.starts.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (ranges.starts[mid]! <= n) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found >= 0 && n <= ranges.ends[found]! ? ranges.countries[found]! : null;
  }
}
