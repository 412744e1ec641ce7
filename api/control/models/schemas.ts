// The model registry's admin API (platform operators): models and their deployments.
import Type from 'typebox';
import { maxUpstreamUrlLength } from '../../../core/upstream-url.js';
import { Timestamp, Uuid, whiteSpace } from '../../common-schemas.js';

export const modelNamePattern = '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$';

const ModelName = Type.String({
  pattern: modelNamePattern,
  description: 'the public name clients send as `model`',
});
const ContextLength = Type.Integer({ minimum: 1, maximum: 100_000_000 });
// numeric(12, 6): at most 999999.999999, rounded to six decimals.
const Price = Type.Number({ minimum: 0, maximum: 999_999.999999, description: 'per 1M tokens' });
const ModelStatus = Type.Union([Type.Literal('active'), Type.Literal('disabled')]);
const FallbackModel = Type.Union([ModelName, Type.Null()], {
  description: 'another model, tried when this one cannot answer',
});

const Version = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' });
const UpstreamModel = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: `^[^${whiteSpace}\\u0000]+$`,
  description: 'the model name the upstream vLLM serves',
});
const Urls = Type.Array(Type.String({ minLength: 1, maxLength: maxUpstreamUrlLength }), {
  minItems: 1,
  maxItems: 64,
  description: 'http(s) base URLs of the replicas, without /v1',
});
const Weight = Type.Integer({
  minimum: 0,
  maximum: 1000,
  description: 'share of traffic among active deployments',
});
const DeploymentState = Type.Union([
  Type.Literal('active'),
  Type.Literal('draining'),
  Type.Literal('disabled'),
]);

const VersionStage = Type.Union(
  [
    Type.Literal('registered'),
    Type.Literal('deploying'),
    Type.Literal('canary'),
    Type.Literal('serving'),
    Type.Literal('draining'),
    Type.Literal('retired'),
    Type.Literal('failed'),
  ],
  {
    description:
      "the version's lifecycle: registered → deploying → canary → serving → draining → retired, or failed",
  },
);

const AnyObject = Type.Record(Type.String(), Type.Unknown());

/** A Ray Serve application: one model version under its own route prefix (deploy/ray/*.yaml). */
export const ServeApplication = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
    route_prefix: Type.String({
      pattern: '^/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$',
      maxLength: 256,
      description:
        'where Serve routes the application; the version answers at <cluster proxy><route_prefix>/v1',
    }),
    import_path: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*$',
      maxLength: 256,
      description: 'for vLLM through Ray Serve LLM: ray.serve.llm:build_openai_app',
    }),
    runtime_env: Type.Optional(AnyObject),
    args: Type.Optional(AnyObject),
    deployments: Type.Optional(Type.Array(AnyObject, { maxItems: 64 })),
  },
  { additionalProperties: false },
);

const VersionNeeds = Type.Object({
  gpuType: Type.Union([Type.String(), Type.Null()]),
  gpuCount: Type.Integer(),
  memoryMib: Type.Union([Type.Integer(), Type.Null()]),
  replicas: Type.Integer(),
});

export const RegisterVersionBody = Type.Object(
  {
    version: Version,
    upstreamModel: UpstreamModel,
    cluster: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: "the serving cluster's name" }),
    application: ServeApplication,
    gpuType: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
        description: 'e.g. H100',
      }),
    ),
    gpuCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, description: 'GPUs per replica' })),
    memoryMib: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 16_777_216, description: 'memory per replica' }),
    ),
    replicas: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'replicas it starts with' }),
    ),
  },
  { additionalProperties: false },
);

export const ModelParams = Type.Object({ modelId: Uuid }, { additionalProperties: false });
export const DeploymentParams = Type.Object(
  { modelId: Uuid, deploymentId: Uuid },
  { additionalProperties: false },
);

export const CreateModelBody = Type.Object(
  {
    name: ModelName,
    contextLength: ContextLength,
    inputPricePerMillion: Price,
    outputPricePerMillion: Price,
    status: Type.Optional(ModelStatus),
    fallbackModel: Type.Optional(FallbackModel),
  },
  { additionalProperties: false },
);

export const UpdateModelBody = Type.Object(
  {
    contextLength: Type.Optional(ContextLength),
    inputPricePerMillion: Type.Optional(Price),
    outputPricePerMillion: Type.Optional(Price),
    status: Type.Optional(ModelStatus),
    fallbackModel: Type.Optional(FallbackModel),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const CreateDeploymentBody = Type.Object(
  {
    version: Version,
    upstreamModel: UpstreamModel,
    urls: Urls,
    weight: Weight,
    state: Type.Optional(DeploymentState),
  },
  { additionalProperties: false },
);

export const UpdateDeploymentBody = Type.Object(
  {
    upstreamModel: Type.Optional(UpstreamModel),
    urls: Type.Optional(Urls),
    weight: Type.Optional(Weight),
    state: Type.Optional(DeploymentState),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const Deployment = Type.Object({
  id: Uuid,
  version: Type.String(),
  upstreamModel: Type.String(),
  urls: Type.Array(Type.String()),
  weight: Type.Integer(),
  state: DeploymentState,
  stage: VersionStage,
  cluster: Type.Union([Type.String(), Type.Null()]),
  application: Type.Union([ServeApplication, Type.Null()]),
  needs: VersionNeeds,
  failureReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const Model = Type.Object({
  id: Uuid,
  name: Type.String(),
  contextLength: Type.Integer(),
  inputPricePerMillion: Type.Number(),
  outputPricePerMillion: Type.Number(),
  status: ModelStatus,
  fallbackModel: Type.Union([Type.String(), Type.Null()]),
  deployments: Type.Array(Deployment),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const ModelList = Type.Object({ items: Type.Array(Model) });
