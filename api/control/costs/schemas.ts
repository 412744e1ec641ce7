// The operators' cost analysis (GET /api/admin/costs).
import Type from 'typebox';
import { Timestamp, Uuid } from '../../common-schemas.js';

export const CostQuery = Type.Object(
  {
    from: Type.String({
      format: 'date-time',
      description: 'start of the period (inclusive), rounded down to the hour',
    }),
    to: Type.String({
      format: 'date-time',
      description: 'end of the period (exclusive), rounded up to the hour; at most 93 days after `from`',
    }),
  },
  { additionalProperties: false },
);

const Amount = (description: string) => Type.Number({ description: `${description}, in \`currency\`` });
const GpuSeconds = (description: string) => Type.Number({ minimum: 0, description });

const Pool = Type.Object({
  pool: Type.String({ description: 'the GPU type deployments name (`gpuType`)' }),
  pricePerHour: Type.Union([Type.Number(), Type.Null()], {
    description: "one GPU's hour (GPU_COST_PER_HOUR); null when the pool has no price",
  }),
  gpuSeconds: GpuSeconds('GPUs held × seconds, in the period up to now'),
  cost: Type.Union([Type.Number(), Type.Null()], { description: 'null when the pool has no price' }),
});

const Model = Type.Object({
  model: Type.String(),
  gpuSeconds: GpuSeconds("its deployments' GPUs × seconds held"),
  unpricedGpuSeconds: GpuSeconds('the part in pools without a price (not in `cost`)'),
  cost: Amount('its priced GPU-seconds'),
  tokens: Type.Integer({ description: 'prompt + completion tokens of every tenant in the period' }),
  unattributedCost: Amount('the cost no token carries: the whole cost when the model served none (idle)'),
});

const TenantModel = Type.Object({
  model: Type.String(),
  tokens: Type.Integer(),
  cost: Amount("the model's cost × the tenant's share of its tokens"),
});

const Tenant = Type.Object({
  orgId: Uuid,
  name: Type.String(),
  tokens: Type.Integer(),
  cost: Amount('the sum over its models'),
  models: Type.Array(TenantModel),
});

export const CostReport = Type.Object(
  {
    from: Timestamp,
    to: Timestamp,
    currency: Type.String({ description: 'GPU_COST_CURRENCY' }),
    pools: Type.Array(Pool),
    unpricedPools: Type.Array(Type.String(), { description: 'pools that held GPUs but have no price' }),
    models: Type.Array(Model, { description: 'models that held GPUs or served tokens' }),
    tenants: Type.Array(Tenant, { description: 'tenants with tokens in the period, highest cost first' }),
    totals: Type.Object({
      gpuSeconds: GpuSeconds('all pools'),
      unpricedGpuSeconds: GpuSeconds('in pools without a price'),
      cost: Amount('all priced GPU-seconds'),
      attributedCost: Amount('the part split over tenants'),
      unattributedCost: Amount('the part of idle models'),
      tokens: Type.Integer(),
    }),
  },
  {
    description:
      'GPU cost per pool and model from the allocation history, split over tenants by their share of tokens (docs/costs.md)',
  },
);
