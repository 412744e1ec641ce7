// Teams of an org and their members.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf, authorizeFields, requireSignedIn } from '../../identity/auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import {
  CreateTeamBody,
  Team,
  TeamList,
  TeamMemberList,
  TeamMemberParams,
  TeamParams,
  UpdateTeamBody,
} from './schemas.js';
import {
  addTeamMember,
  createTeam,
  deleteTeam,
  getTeam,
  listTeamMembers,
  listTeams,
  removeTeamMember,
  updateTeam,
} from './teams.js';

const tags = ['teams'];
const security = [{ bearer: [] }];

const teams: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);

  app.post(
    '/orgs/:orgId/teams',
    {
      config: { access: 'teams.create' },
      schema: {
        tags,
        security,
        params: OrgParams,
        body: CreateTeamBody,
        response: { 201: Team, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createTeam(app.db, actorOf(request), request.params.orgId, request.body)),
  );

  app.get(
    '/orgs/:orgId/teams',
    {
      config: { access: 'teams.read' },
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 200: TeamList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ({ items: await listTeams(app.db, request.params.orgId) }),
  );

  app.get(
    '/orgs/:orgId/teams/:teamId',
    {
      config: { access: 'teams.read' },
      schema: { tags, security, params: TeamParams, response: { 200: Team, ...errors(400, 401, 403, 404) } },
    },
    async (request) => getTeam(app.db, request.params.orgId, request.params.teamId),
  );

  app.patch(
    '/orgs/:orgId/teams/:teamId',
    {
      config: { access: 'teams.update' },
      schema: {
        tags,
        security,
        params: TeamParams,
        body: UpdateTeamBody,
        response: { 200: Team, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { orgId, teamId } = request.params;
      authorizeFields(request, 'Team', { orgId, id: teamId }, request.body);
      return updateTeam(app.db, actorOf(request), orgId, teamId, request.body);
    },
  );

  app.delete(
    '/orgs/:orgId/teams/:teamId',
    {
      config: { access: 'teams.delete' },
      schema: {
        tags,
        security,
        params: TeamParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteTeam(app.db, actorOf(request), request.params.orgId, request.params.teamId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/orgs/:orgId/teams/:teamId/members',
    {
      config: { access: 'teams.read' },
      schema: {
        tags,
        security,
        params: TeamParams,
        response: { 200: TeamMemberList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      items: await listTeamMembers(app.db, request.params.orgId, request.params.teamId),
    }),
  );

  app.put(
    '/orgs/:orgId/teams/:teamId/members/:userId',
    {
      config: { access: 'teams.members.manage' },
      schema: {
        tags,
        security,
        params: TeamMemberParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { orgId, teamId, userId } = request.params;
      await addTeamMember(app.db, actorOf(request), orgId, teamId, userId);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/orgs/:orgId/teams/:teamId/members/:userId',
    {
      config: { access: 'teams.members.manage' },
      schema: {
        tags,
        security,
        params: TeamMemberParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { orgId, teamId, userId } = request.params;
      await removeTeamMember(app.db, actorOf(request), orgId, teamId, userId);
      return reply.code(204).send(null);
    },
  );
};

export default teams;
