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
