// The broken-authentication matrix runner. A token source (the platform's own tokens, API keys, an
// OIDC provider's, an SSO issuer's) is tested by listing its bad credentials as cases: each case
// forges one credential and says how each kind of route must answer it. The runner presents it as
// a bearer credential to a user route, an org route and the API-key route and checks the status,
// the documented error body, and that nothing the attacker aims at changed.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { attackSurface, expectRefusal, freshAddress, type Refusal } from './support.js';

export type Target = 'user' | 'org' | 'key';

export interface TokenCase {
  name: string;
  /** The credential to present; null sends no Authorization header at all. */
  forge: () => Promise<string | null>;
  /** How each kind of route answers it; kinds left out are not asked. */
  expected: Partial<Record<Target, Refusal>>;
}

export interface MatrixContext {
  app: FastifyInstance;
  admin: pg.Pool;
  /** The org the org route is asked about: the one the forged credentials claim to reach. */
  orgId: string;
}

export const everywhere = (refusal: Refusal): Record<Target, Refusal> => ({
  user: refusal,
  org: refusal,
  key: refusal,
});

const routes: Record<Target, (orgId: string) => { method: 'GET'; url: string }> = {
  user: () => ({ method: 'GET', url: '/api/me' }),
  org: (orgId) => ({ method: 'GET', url: `/api/orgs/${orgId}/members` }),
  key: () => ({ method: 'GET', url: '/api/auth/key' }),
};

/** Presents a credential to one kind of route. */
export function present(
  ctx: MatrixContext,
  target: Target,
  credential: string | null,
  address = freshAddress(),
) {
  return ctx.app.inject({
    ...routes[target](ctx.orgId),
    remoteAddress: address,
    headers: credential === null ? {} : { authorization: `Bearer ${credential}` },
  });
}

/** One test per case and route kind. `context` is read when the tests run (after beforeAll). */
export function describeTokenMatrix(title: string, context: () => MatrixContext, cases: TokenCase[]): void {
  describe(title, () => {
    const rows = cases.flatMap((c) =>
      Object.entries(c.expected).map(
        ([target, refusal]) =>
          [
            `${c.name}, on the ${target} route: ${refusal.status} ${refusal.code}`,
            { c, target: target as Target, refusal },
          ] as const,
      ),
    );
    it.each(rows)('%s', async (_title, row) => {
      const ctx = context();
      const credential = await row.c.forge();
      const address = freshAddress();
      const before = await attackSurface(ctx.admin, ctx.orgId, address);
      const res = await present(ctx, row.target, credential, address);
      expectRefusal(res, row.refusal, credential ?? '');
      expect(await attackSurface(ctx.admin, ctx.orgId, address)).toBe(before);
    });
  });
}
