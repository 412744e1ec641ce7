// An org's usage, from the hourly rollups: GET /api/orgs/:orgId/usage (JSON) and the same report as
// CSV at /api/orgs/:orgId/usage.csv. Members read it as the policy allows (`usage.read`); an API key
// with the `usage:read` scope reads its own org's usage (a key bound to a team, its team's only).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import Type from 'typebox';
import { authorizeKey } from '../../../core/policy.js';
import { AppError } from '../../errors.js';
import { errors, OrgParams } from '../../common-schemas.js';
import { UsageQuery, UsageReport } from './schemas.js';
import { readUsage, usageCsv, usageRange, type UsageReport as Report } from './usage.js';

const tags = ['usage'];
const security = [{ bearer: [] }];

/**
 * Which team's usage the caller reads (null: the whole org), after asking the policy. A user's org
 * access was checked by `authorizeOrg`; a key is asked here, with the team it reads.
 */
function authorizedTeam(request: FastifyRequest, orgId: string, teamId: string | undefined): string | null {
  const key = request.apiKey;
  if (!key) return teamId ?? null;
  // Another org's usage is indistinguishable from a missing org.
  if (key.orgId !== orgId) throw new AppError('NOT_FOUND', 'The organization does not exist.');
  const team = teamId ?? key.teamId;
  if (!authorizeKey(key, 'usage.read', { ip: request.ip, teamId: team }))
    throw new AppError(
      'FORBIDDEN',
      key.teamId ? "This key may read only its team's usage." : 'This key lacks the usage:read scope.',
    );
  return team;
}

async function report(
  app: Parameters<FastifyPluginAsyncTypebox>[0],
  request: FastifyRequest,
  orgId: string,
  query: Static<typeof UsageQuery>,
): Promise<Report> {
  const granularity = query.granularity ?? 'hour';
  const range = usageRange(query, granularity);
  const teamId = authorizedTeam(request, orgId, query.teamId);
  return readUsage(app.db, orgId, { range, granularity, groupBy: query.groupBy ?? 'model', teamId });
}

const usageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRequest', app.authenticate);
  // Users go through the org check like every org route; keys are checked by authorizedTeam.
  app.addHook('preHandler', async (request) => {
    if (!request.apiKey) await app.authorizeOrg(request);
  });

  app.get(
    '/orgs/:orgId/usage',
    {
      config: { access: 'usage.read' },
      schema: {
        tags,
        summary:
          'Usage per hour or day and per model, key or team (user token, or an API key with usage:read)',
        security,
        params: OrgParams,
        querystring: UsageQuery,
        response: { 200: UsageReport, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => report(app, request, request.params.orgId, request.query),
  );

  app.get(
    '/orgs/:orgId/usage.csv',
    {
      config: { access: 'usage.read' },
      schema: {
        tags,
        summary: 'The same usage report as CSV (a header row, then one row per period and group)',
        security,
        params: OrgParams,
        querystring: UsageQuery,
        response: {
          200: { description: 'CSV, RFC 4180', content: { 'text/csv': { schema: Type.String() } } },
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const usage = await report(app, request, request.params.orgId, request.query);
      const name = `usage-${usage.orgId}-${usage.from.slice(0, 13)}-${usage.to.slice(0, 13)}.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(usageCsv(usage));
    },
  );
};

export default usageRoutes;
