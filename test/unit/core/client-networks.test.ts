import { describe, expect, it } from 'vitest';
import { networkOf } from '../../../core/client-networks.js';

describe('networkOf', () => {
  it('puts an IPv4 address in its /24 and an IPv6 address in its /48', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(networkOf('2001:0db8:abcd:0012:0000:0000:0000:0001')).toBe('2001:db8:abcd::/48');
  });

  it('reads IPv4-mapped IPv6 (a dual-stack socket) as the IPv4 address inside', () => {
    expect(networkOf('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:cb00:714d')).toBe('203.0.113.0/24');
  });

  it('answers undefined for what is not an address', () => {
    for (const text of ['', 'localhost', '203.0.113', '1.2.3.4.5', '::g', 'unknown'])
      expect(networkOf(text)).toBeUndefined();
  });
});
