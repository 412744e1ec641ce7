// API keys: management under /api/orgs/:orgId/api-keys (user tokens), and GET /api/auth/key, the
// first route that takes an API key: it tells a client what its key may do.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { actorOf, currentApiKey, orgAccess, requireSignedIn } from '../auth-plugin.js';
import {
  ApiKey,
  ApiKeyList,
  ApiKeyParams,
  ApiKeyWithSecret,
  CreateApiKeyBody,
  KeyIntrospection,
} from './schemas.js';
import { errors, OrgParams } from '../../common-schemas.js';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, rotateApiKey, type KeyActor } from './keys.js';

const tags = ['api-keys'];
const security = [{ bearer: [] }];

function keyActor(request: FastifyRequest): KeyActor {
  return { ...actorOf(request), ability: orgAccess(request).ability };
}

const apiKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const issuer = app.apiKeyIssuer;

  app.get(
    '/api/auth/key',
    {
      config: { access: 'api-key' },
      schema: {
        tags,
        summary: 'What the presented API key is: its org, scopes, expiry, allowed models, plan and limits',
        security,
        response: { 200: KeyIntrospection, ...errors(401) },
      },
    },
    async (request) => {
      const key = currentApiKey(request);
      return {
        keyId: key.keyId,
        orgId: key.orgId,
        teamId: key.teamId,
        scopes: key.scopes,
        expiresAt: key.expiresAt?.toISOString() ?? null,
        allowedModels: key.allowedModels,
        plan: key.plan,
        requestsPerMinute: key.requestsPerMinute,
        tokensPerMinute: key.tokensPerMinute,
      };
    },
  );

  app.post(
    '/api/orgs/:orgId/api-keys',
    {
      config: { access: 'api-keys.create' },
      schema: {
        tags,
        summary: 'Create a key; the answer is the only time the key is shown',
        security,
        params: OrgParams,
        body: CreateApiKeyBody,
        response: { 201: ApiKeyWithSecret, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await createApiKey(app.db, issuer, keyActor(request), request.params.orgId, request.body)),
  );

  app.get(
    '/api/orgs/:orgId/api-keys',
    {
      config: { access: 'api-keys.read' },
      schema: {
        tags,
        security,
        params: OrgParams,
        response: { 200: ApiKeyList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ({ items: await listApiKeys(app.db, keyActor(request), request.params.orgId) }),
  );

  app.get(
    '/api/orgs/:orgId/api-keys/:keyId',
    {
      config: { access: 'api-keys.read' },
      schema: {
        tags,
        security,
        params: ApiKeyParams,
        response: { 200: ApiKey, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getApiKey(app.db, keyActor(request), request.params.orgId, request.params.keyId),
  );

  app.post(
    '/api/orgs/:orgId/api-keys/:keyId/rotate',
    {
      config: { access: 'api-keys.rotate' },
      schema: {
        tags,
        summary: 'A new secret; the previous one keeps working for API_KEY_ROTATION_GRACE_SECONDS',
        security,
        params: ApiKeyParams,
        response: { 200: ApiKeyWithSecret, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      rotateApiKey(
        app.db,
        issuer,
        keyActor(request),
        request.params.orgId,
        request.params.keyId,
        app.config.API_KEY_ROTATION_GRACE_SECONDS,
      ),
  );

  app.delete(
    '/api/orgs/:orgId/api-keys/:keyId',
    {
      config: { access: 'api-keys.revoke' },
      schema: {
        tags,
        summary: 'Revoke a key: every replica refuses it within 5 seconds',
        security,
        params: ApiKeyParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await revokeApiKey(app.db, issuer, keyActor(request), request.params.orgId, request.params.keyId);
      return reply.code(204).send(null);
    },
  );
};

export default apiKeyRoutes;
