// GDPR data-subject requests of an org: ask for an export or an erasure (of your own data, or the
// organization's as an owner), follow it, download an export's files until the archive expires,
// cancel an erasure during its grace period.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { objectStorageFromConfig } from '../../../activities/storage/index.js';
import { actorOf, orgAccess, requireSignedIn } from '../../identity/auth-plugin.js';
import { errors, OrgParams } from '../../common-schemas.js';
import {
  cancelDataRequest,
  createDataRequest,
  downloadArchiveFile,
  getDataRequest,
  listDataRequests,
  type DataRequestDeps,
} from './data-requests.js';
import {
  ArchiveFileParams,
  CreateDataRequestBody,
  DataRequest,
  DataRequestList,
  DataRequestParams,
} from './schemas.js';

const tags = ['data requests'];
const security = [{ bearer: [] }];

const dataRequests: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const deps: DataRequestDeps = {
    db: app.db,
    temporal: app.temporal,
    storage: objectStorageFromConfig(app.config, app.db),
  };
  app.addHook('onClose', async () => deps.storage.close());

  app.post(
    '/orgs/:orgId/data-requests',
    {
      config: { access: 'data-requests.create' },
      schema: {
        tags,
        summary: 'Ask for a GDPR export or erasure: of your own data, or of the whole organization (owners)',
        description:
          'An erasure waits a grace period (graceEndsAt) in which it can be cancelled, then erases or anonymises the data in every store. Asking again while one is open answers the open one.',
        security,
        params: OrgParams,
        body: CreateDataRequestBody,
        response: { 202: DataRequest, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const { kind, scope } = request.body;
      const created = await createDataRequest(deps, actorOf(request), orgAccess(request), kind, scope);
      return reply.code(202).send(created);
    },
  );

  app.get(
    '/orgs/:orgId/data-requests',
    {
      config: { access: 'data-requests.read' },
      schema: {
        tags,
        summary: "The org's data requests you may see: your own; an owner sees them all",
        security,
        params: OrgParams,
        response: { 200: DataRequestList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => ({ items: await listDataRequests(deps, actorOf(request), orgAccess(request)) }),
  );

  app.get(
    '/orgs/:orgId/data-requests/:requestId',
    {
      config: { access: 'data-requests.read' },
      schema: {
        tags,
        summary: 'One data request: its status, deadline and, once done, its archive',
        security,
        params: DataRequestParams,
        response: { 200: DataRequest, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getDataRequest(deps, orgAccess(request), request.params.requestId),
  );

  app.post(
    '/orgs/:orgId/data-requests/:requestId/cancel',
    {
      config: { access: 'data-requests.create' },
      schema: {
        tags,
        summary: 'Cancel an erasure during its grace period; nothing is erased',
        security,
        params: DataRequestParams,
        response: { 200: DataRequest, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      cancelDataRequest(deps, actorOf(request), orgAccess(request), request.params.requestId),
  );

  app.get(
    '/orgs/:orgId/data-requests/:requestId/archive/:file',
    {
      config: { access: 'data-requests.read' },
      schema: {
        tags,
        summary: "One file of a completed export's archive, until the archive expires",
        security,
        params: ArchiveFileParams,
        response: {
          200: {
            description: 'The file (JSON or CSV), as the manifest lists it',
            content: {
              'application/octet-stream': {
                schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }),
              },
            },
          },
          ...errors(400, 401, 403, 404, 409, 410),
        },
      },
    },
    async (request, reply) => {
      const { requestId, file } = request.params;
      const object = await downloadArchiveFile(deps, actorOf(request), orgAccess(request), requestId, file);
      return reply
        .type(object.contentType)
        .header('content-disposition', `attachment; filename="${file}"`)
        .send(object.body);
    },
  );
};

export default dataRequests;
