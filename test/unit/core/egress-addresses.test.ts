// Every spelling of an internal address is classified as that address, and public ones pass.
import { describe, expect, it } from 'vitest';
import {
  egressAllowed,
  formatIp,
  normalizeHost,
  parseAllowList,
  parseIp,
  refusedRange,
} from '../../../core/egress-addresses.js';

function range(text: string): string | undefined {
  const ip = parseIp(normalizeHost(text));
  if (!ip) throw new Error(`${text} did not parse`);
  return refusedRange(ip);
}

/** The host a URL ends up with after WHATWG parsing, as the guard sees it. */
const hostOf = (url: string) => normalizeHost(new URL(url).hostname);

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'shared address space (CGNAT)'],
    ['100.100.100.200', 'shared address space (CGNAT)'],
    ['0.0.0.0', 'this network'],
    ['0.1.2.3', 'this network'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
  ])('IPv4 %s is refused as %s', (address, name) => {
    expect(range(address)).toBe(name);
  });

  it.each([
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback (IPv4 inside IPv6)'],
    ['::ffff:7f00:1', 'loopback (IPv4 inside IPv6)'],
    ['::ffff:169.254.169.254', 'metadata (IPv4 inside IPv6)'],
    ['::ffff:a9fe:a9fe', 'metadata (IPv4 inside IPv6)'],
    ['64:ff9b::10.0.0.1', 'private (IPv4 inside IPv6)'],
    ['64:ff9b::7f00:1', 'loopback (IPv4 inside IPv6)'],
    ['2002:7f00:1::', 'loopback (IPv4 inside IPv6)'],
    ['::127.0.0.1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['5f00::1', 'reserved'],
  ])('IPv6 %s is refused as %s', (address, name) => {
    expect(range(address)).toBe(name);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
  ])('%s is public', (address) => {
    expect(range(address)).toBeUndefined();
  });

  it.each([
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['169.254.43518', '169.254.169.254'],
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
    ['127.0.0.1.', '127.0.0.1'],
  ])('the IPv4 spelling %s is %s', (text, address) => {
    expect(formatIp(parseIp(normalizeHost(text))!)).toBe(address);
  });

  it('reads too-large or malformed parts as names, never as a wrapped-around address', () => {
    expect(parseIp('4294967296')).toBeUndefined();
    expect(parseIp('256.0.0.1')).toBeUndefined();
    expect(parseIp('1.2.3.4.5')).toBeUndefined();
    expect(parseIp('08.0.0.1')).toBeUndefined();
    expect(parseIp('deadbeef')).toBeUndefined();
    expect(parseIp('example.com')).toBeUndefined();
    expect(parseIp('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseIp('1::2::3')).toBeUndefined();
  });

  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://127.0.0.1./', '127.0.0.1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://LOCALHOST./', 'localhost'],
    ['http://idp.Example.COM../x', 'idp.example.com'],
  ])('the URL %s names the host %s', (url, host) => {
    expect(hostOf(url)).toBe(host);
  });

  it('classifies the decimal, octal and hex URL forms as loopback', () => {
    for (const url of [
      'http://2130706433/',
      'http://0x7f.1/',
      'http://017700000001/',
      'http://[::ffff:7f00:1]/',
    ])
      expect(refusedRange(parseIp(hostOf(url))!), url).toMatch(/^loopback/);
  });
});

describe("the operator's allow-list", () => {
  const allow = parseAllowList(['idp.corp.example.', '10.20.0.0/16', '127.0.0.1', 'fd00:1::/32']);

  it('lets named hosts and listed networks reach private addresses, nothing else', () => {
    const ip = (text: string) => parseIp(text)!;
    expect(egressAllowed(ip('10.99.0.1'), 'IDP.corp.example', allow)).toBe(true);
    expect(egressAllowed(ip('10.99.0.1'), 'other.corp.example', allow)).toBe(false);
    expect(egressAllowed(ip('10.20.3.4'), 'anything', allow)).toBe(true);
    expect(egressAllowed(ip('127.0.0.1'), 'anything', allow)).toBe(true);
    expect(egressAllowed(ip('::ffff:127.0.0.1'), 'anything', allow)).toBe(true);
    expect(egressAllowed(ip('127.0.0.2'), 'anything', allow)).toBe(false);
    expect(egressAllowed(ip('64:ff9b::7f00:1'), 'anything', allow)).toBe(false);
    expect(egressAllowed(ip('fd00:1::5'), 'anything', allow)).toBe(true);
    expect(egressAllowed(ip('fd00:2::5'), 'anything', allow)).toBe(false);
    expect(egressAllowed(ip('8.8.8.8'), 'anything', parseAllowList([])), 'public').toBe(true);
  });

  it('refuses entries that are neither a host nor a network', () => {
    expect(() => parseAllowList(['10.0.0.0/33'])).toThrow(/10.0.0.0\/33/);
    expect(() => parseAllowList(['http://idp.example'])).toThrow(/neither/);
    expect(() => parseAllowList(['0x7f.1'])).toThrow(/neither/);
    expect(() => parseAllowList(['idp .example'])).toThrow(/neither/);
  });
});
