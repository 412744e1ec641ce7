import { describe, expect, it } from 'vitest';
import { loggableUrl } from '../../../runtime/logger.js';

describe('loggableUrl', () => {
  it("replaces the values of an SSO callback's code and state, a mailed link's token and an SSO ticket", () => {
    expect(loggableUrl('/api/sso/callback?state=abc&code=secret-code&iss=https%3A%2F%2Fidp')).toBe(
      '/api/sso/callback?state=%5Bredacted%5D&code=%5Bredacted%5D&iss=https%3A%2F%2Fidp',
    );
    expect(loggableUrl('/verify-email?token=vt_123')).toBe('/verify-email?token=%5Bredacted%5D');
    expect(loggableUrl('/oidc/interaction/abc/sso-complete?ticket=secret')).toBe(
      '/oidc/interaction/abc/sso-complete?ticket=%5Bredacted%5D',
    );
  });

  it('leaves a URL without secret parameters as it is', () => {
    expect(loggableUrl('/v1/models')).toBe('/v1/models');
    expect(loggableUrl('/api/orgs/1/usage?from=2026-01-01&groupBy=model')).toBe(
      '/api/orgs/1/usage?from=2026-01-01&groupBy=model',
    );
  });
});
