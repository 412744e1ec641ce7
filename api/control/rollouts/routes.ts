// Model rollouts under /api/admin/models/:modelId/rollouts, for platform operators: start the
// rollout of a registered version (`rollout/<model>/<version>`, visible in the Temporal UI), read
// its progress, and pause, resume, approve or abort it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../common-schemas.js';
import { actorOf, requireSignedIn } from '../../identity/auth-plugin.js';
import { ModelParams } from '../models/schemas.js';
import { controlRollout, rolloutProgress, startRollout } from './rollouts.js';
import {
  AbortBody,
  ApproveBody,
  PauseBody,
  RolloutParams,
  RolloutProgress,
  RolloutStarted,
  StartRolloutBody,
} from './schemas.js';

const tags = ['admin'];
const security = [{ bearer: [] }];

const rolloutRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const deps = () => ({ db: app.db, temporal: app.temporal });

  app.post(
    '/admin/models/:modelId/rollouts',
    {
      config: { access: 'model-registry.manage' },
      schema: {
        tags,
        security,
        summary: 'Roll out a registered version: deploy it, shift traffic in gated steps, retire the old one',
        params: ModelParams,
        body: StartRolloutBody,
        response: { 202: RolloutStarted, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await startRollout(deps(), actorOf(request), request.params.modelId, request.body)),
  );

  app.get(
    '/admin/models/:modelId/rollouts/:version',
    {
      config: { access: 'model-registry.read' },
      schema: {
        tags,
        security,
        summary: "A rollout's progress: phase, step, traffic share, the gates' last verdict, what happened",
        params: RolloutParams,
        response: { 200: RolloutProgress, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => rolloutProgress(deps(), request.params.modelId, request.params.version),
  );

  const control = (
    action: 'pause' | 'resume' | 'approve' | 'abort',
    summary: string,
    body: typeof PauseBody | typeof ApproveBody,
  ) =>
    app.post(
      `/admin/models/:modelId/rollouts/:version/${action}`,
      {
        config: { access: 'model-registry.manage' },
        schema: {
          tags,
          security,
          summary,
          params: RolloutParams,
          body,
          response: { 200: RolloutProgress, ...errors(400, 401, 403, 404, 409, 503) },
        },
      },
      async (request) =>
        controlRollout(deps(), actorOf(request), request.params.modelId, request.params.version, {
          action,
          ...request.body,
        }),
    );

  control('pause', 'Hold the rollout at its step (failing gates still roll back)', PauseBody);
  control('resume', 'Let a paused rollout go on', PauseBody);
  control('approve', 'Let the step that waits for approval begin', ApproveBody);
  control('abort', 'Roll back: the current version takes all traffic, the new one is unloaded', AbortBody);
};

export default rolloutRoutes;
