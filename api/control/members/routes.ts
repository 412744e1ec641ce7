// Members of an org: list, change a role, remove.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf, orgAccess, requireSignedIn } from '../../identity/auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import { ChangeRoleBody, Member, MemberList, MemberParams } from './schemas.js';
import { changeMemberRole, listMembers, removeMember } from './members.js';

const tags = ['members'];
const security = [{ bearer: [] }];

const members: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.get(
    '/orgs/:orgId/members',
    {
      config: { access: 'members.read' },
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 200: MemberList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ({ items: await listMembers(app.db, request.params.orgId) }),
  );

  app.patch(
    '/orgs/:orgId/members/:userId',
    {
      config: { access: 'members.update' },
      schema: {
        tags,
        security,
        params: MemberParams,
        body: ChangeRoleBody,
        response: { 200: Member, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      changeMemberRole(
        app.db,
        actorOf(request),
        orgAccess(request),
        request.params.userId,
        request.body.role,
      ),
  );

  app.delete(
    '/orgs/:orgId/members/:userId',
    {
      config: { access: 'members.remove' },
      schema: {
        tags,
        security,
        params: MemberParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await removeMember(app.db, actorOf(request), orgAccess(request), request.params.userId);
      return reply.code(204).send(null);
    },
  );
};

export default members;
