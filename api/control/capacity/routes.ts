// The capacity loops under /api/admin/capacity, for platform operators: every pool's loop with its
// replicas, decisions and mode (live or dry-run), one pool, and its controls — pause, resume and
// its settings (dry-run among them).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../common-schemas.js';
import { actorOf, requireSignedIn } from '../../identity/auth-plugin.js';
import { configurePool, getPool, listPools, setPaused } from './capacity.js';
import {
  CapacityPool,
  CapacityPoolList,
  ConfigureBody,
  PauseBody,
  PoolParams,
  ResumeBody,
} from './schemas.js';

const tags = ['admin'];
const security = [{ bearer: [] }];

const capacityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const deps = () => ({ db: app.db, temporal: app.temporal });

  app.get(
    '/admin/capacity',
    {
      config: { access: 'capacity.read' },
      schema: {
        tags,
        security,
        summary: "Every pool's capacity loop: running or not, replicas, desired, mode, paused, decisions",
        response: { 200: CapacityPoolList, ...errors(401, 403) },
      },
    },
    async () => ({ items: await listPools(app.temporal) }),
  );

  app.get(
    '/admin/capacity/:pool',
    {
      config: { access: 'capacity.read' },
      schema: {
        tags,
        security,
        summary: "One pool's capacity loop",
        params: PoolParams,
        response: { 200: CapacityPool, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => getPool(app.temporal, request.params.pool),
  );

  app.post(
    '/admin/capacity/:pool/pause',
    {
      config: { access: 'capacity.manage' },
      schema: {
        tags,
        security,
        summary: 'Pause the loop: no samples, no decisions until resumed (a change under way finishes)',
        params: PoolParams,
        body: PauseBody,
        response: { 200: CapacityPool, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) =>
      setPaused(deps(), actorOf(request), request.params.pool, { paused: true, reason: request.body.reason }),
  );

  app.post(
    '/admin/capacity/:pool/resume',
    {
      config: { access: 'capacity.manage' },
      schema: {
        tags,
        security,
        summary: 'Resume a paused loop',
        params: PoolParams,
        body: ResumeBody,
        response: { 200: CapacityPool, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) =>
      setPaused(deps(), actorOf(request), request.params.pool, {
        paused: false,
        reason: request.body.reason,
      }),
  );

  app.patch(
    '/admin/capacity/:pool',
    {
      config: { access: 'capacity.manage' },
      schema: {
        tags,
        security,
        summary: "Change the loop's settings (dryRun: live or dry-run); refused with the loop's reason",
        params: PoolParams,
        body: ConfigureBody,
        response: { 200: CapacityPool, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => configurePool(deps(), actorOf(request), request.params.pool, request.body),
  );
};

export default capacityRoutes;
