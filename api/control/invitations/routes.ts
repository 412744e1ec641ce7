// Invitations to an org: create (mails a one-time token), list, revoke, and accept by the invitee.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf, orgAccess, requireSignedIn } from '../../identity/auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import {
  AcceptedInvitation,
  AcceptInvitationBody,
  CreatedInvitation,
  CreateInvitationBody,
  InvitationList,
  InvitationParams,
} from './schemas.js';
import { acceptInvitation, createInvitation, listInvitations, revokeInvitation } from './invitations.js';

const tags = ['invitations'];
const security = [{ bearer: [] }];

const invitations: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const settings = { ttlHours: app.config.INVITATION_TTL_HOURS, publicUrl: app.config.PUBLIC_URL };

  app.post(
    '/orgs/:orgId/invitations',
    {
      config: { access: 'invitations.create' },
      schema: {
        tags,
        security,
        params: OrgParams,
        body: CreateInvitationBody,
        response: { 201: CreatedInvitation, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createInvitation(app.db, actorOf(request), orgAccess(request), request.body, settings)),
  );

  app.get(
    '/orgs/:orgId/invitations',
    {
      config: { access: 'invitations.read' },
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 200: InvitationList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ({ items: await listInvitations(app.db, request.params.orgId) }),
  );

  app.delete(
    '/orgs/:orgId/invitations/:invitationId',
    {
      config: { access: 'invitations.revoke' },
      schema: {
        tags,
        security,
        params: InvitationParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await revokeInvitation(app.db, actorOf(request), orgAccess(request), request.params.invitationId);
      return reply.code(204).send(null);
    },
  );

  // The invitee is not a member yet: the token, not a role, grants this.
  app.post(
    '/orgs/:orgId/invitations/accept',
    {
      config: { access: 'signed-in' },
      schema: {
        tags,
        security,
        params: OrgParams,
        body: AcceptInvitationBody,
        response: { 200: AcceptedInvitation, ...errors(400, 401, 403, 404, 409, 410) },
      },
    },
    async (request) => acceptInvitation(app.db, actorOf(request), request.params.orgId, request.body.token),
  );
};

export default invitations;
