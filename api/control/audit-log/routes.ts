// An org's audit log, newest first, paged by cursor, and the verification of its hash chain.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireSignedIn } from '../../identity/auth-plugin.js';
import { AuditChainReport, AuditPage, AuditQuery } from './schemas.js';
import { errors, OrgParams } from '../../common-schemas.js';
import { verifyOrgAuditChain } from '../../../db/audit-chain.js';
import { listAuditLog } from './audit-log.js';

const audit: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/orgs/:orgId/audit-log',
    {
      config: { access: 'audit.read' },
      schema: {
        tags: ['audit'],
        security: [{ bearer: [] }],
        params: OrgParams,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      return listAuditLog(app.db, request.params.orgId, {
        limit: limit ? Number(limit) : 50,
        before: before ? Number(before) : undefined,
      });
    },
  );

  app.get(
    '/orgs/:orgId/audit-log/verify',
    {
      config: { access: 'audit.verify' },
      schema: {
        tags: ['audit'],
        summary: "Recompute the org's audit hash chain and report the first broken link",
        security: [{ bearer: [] }],
        params: OrgParams,
        response: { 200: AuditChainReport, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => verifyOrgAuditChain(app.db, request.params.orgId),
  );
};

export default audit;
