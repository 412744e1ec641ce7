// Legal holds on an organization (operators): list them, place one (on the whole organization or
// one person in it), release one. A hold blocks any erasure that reaches what it holds.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf, requireSignedIn } from '../../identity/auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import { listLegalHolds, placeLegalHold, releaseLegalHold } from './legal-holds.js';
import { LegalHold, LegalHoldList, LegalHoldParams, PlaceLegalHoldBody } from './schemas.js';

const tags = ['legal holds'];
const security = [{ bearer: [] }];

const legalHolds: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/admin/orgs/:orgId/legal-holds',
    {
      config: { access: 'legal-holds.read' },
      schema: {
        tags,
        summary: "The organization's legal holds, released ones included (operators)",
        security,
        params: OrgParams,
        response: { 200: LegalHoldList, ...errors(400, 401, 403) },
      },
    },
    async (request) => ({ items: await listLegalHolds(app.db, request.params.orgId) }),
  );

  app.post(
    '/admin/orgs/:orgId/legal-holds',
    {
      config: { access: 'legal-holds.manage' },
      schema: {
        tags,
        summary:
          'Place a legal hold: erasures of the organization (or of the one person) are blocked until it is released',
        security,
        params: OrgParams,
        body: PlaceLegalHoldBody,
        response: { 201: LegalHold, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const hold = await placeLegalHold(app.db, actorOf(request), request.params.orgId, request.body);
      return reply.code(201).send(hold);
    },
  );

  app.post(
    '/admin/orgs/:orgId/legal-holds/:holdId/release',
    {
      config: { access: 'legal-holds.manage' },
      schema: {
        tags,
        summary: 'Release a legal hold (erasures it blocked are not restarted: they are asked for again)',
        security,
        params: LegalHoldParams,
        response: { 200: LegalHold, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      releaseLegalHold(app.db, actorOf(request), request.params.orgId, request.params.holdId),
  );
};

export default legalHolds;
