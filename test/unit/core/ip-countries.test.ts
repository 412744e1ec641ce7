import { describe, expect, it } from 'vitest';
import { IpCountries } from '../../../core/ip-countries.js';

// Lines as DB-IP's IP to Country Lite CSV has them: IPv4 and IPv6, ZZ for reserved space.
const table = IpCountries.parse(
  [
    '1.0.0.0,1.0.0.255,AU',
    '10.0.0.0,10.255.255.255,ZZ',
    '"81.0.0.0","81.0.255.255","NL"',
    '2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,DE',
    '',
  ].join('\n'),
);

describe('IpCountries', () => {
  it('answers the country of an address in a range, at both ends and inside', () => {
    expect(table.size).toBe(4);
    expect(table.countryOf('1.0.0.0')).toBe('AU');
    expect(table.countryOf('1.0.0.255')).toBe('AU');
    expect(table.countryOf('81.0.12.34')).toBe('NL');
    expect(table.countryOf('::ffff:81.0.12.34')).toBe('NL');
    expect(table.countryOf('2001:db8:1::5')).toBe('DE');
  });

  it('answers null for an address in no range, in a ZZ range, or not an address', () => {
    expect(table.countryOf('1.0.1.0')).toBeNull();
    expect(table.countryOf('0.255.255.255')).toBeNull();
    expect(table.countryOf('10.1.2.3')).toBeNull();
    expect(table.countryOf('2001:db9::1')).toBeNull();
    expect(table.countryOf('nonsense')).toBeNull();
  });

  it('refuses a bad table naming the line, so a wrong file cannot pass for an empty one', () => {
    expect(() => IpCountries.parse('1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.1.255')).toThrow(
      /line 2: expected first,last,country/,
    );
    expect(() => IpCountries.parse('1.0.0.0,1.0.0.256,AU')).toThrow(
      /line 1: 1\.0\.0\.256 is not an IP address/,
    );
    expect(() => IpCountries.parse('1.0.0.0,::1,AU')).toThrow(/different families/);
    expect(() => IpCountries.parse('1.0.0.9,1.0.0.1,AU')).toThrow(/comes after/);
    expect(() => IpCountries.parse('1.0.0.0,1.0.0.255,Australia')).toThrow(/two-letter country code/);
    expect(() => IpCountries.parse('1.0.0.0,1.0.0.255,AU\n1.0.0.128,1.0.1.0,NZ')).toThrow(
      /IPv4 ranges overlap/,
    );
  });
});
