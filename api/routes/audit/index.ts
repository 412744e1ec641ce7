// An org's audit log, newest first, paged by cursor.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireSignedIn } from '../../plugins/auth.js';
import { AuditPage, AuditQuery } from '../../schemas/audit.js';
import { errors, OrgParams } from '../../schemas/common.js';
import { listAuditLog } from '../../services/audit-log.js';

const audit: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/api/orgs/:orgId/audit-log',
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
};

export default audit;
