import Type from 'typebox';
import { namePattern, Timestamp, Uuid } from '../../common-schemas.js';

export const ApiKeyScope = Type.Union([
  Type.Literal('inference'),
  Type.Literal('models:read'),
  Type.Literal('usage:read'),
  Type.Literal('admin'),
]);

export const ApiKeyParams = Type.Object({ orgId: Uuid, keyId: Uuid }, { additionalProperties: false });

export const CreateApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: namePattern }),
    scopes: Type.Array(ApiKeyScope, { minItems: 1, maxItems: 4, uniqueItems: true }),
    teamId: Type.Optional(Uuid),
    expiresAt: Type.Optional(Timestamp),
    allowedModels: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' }), {
        minItems: 1,
        maxItems: 100,
        uniqueItems: true,
      }),
    ),
    allowedIps: Type.Optional(
      Type.Array(Type.String({ minLength: 2, maxLength: 43, pattern: '^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$' }), {
        minItems: 1,
        maxItems: 100,
        uniqueItems: true,
      }),
    ),
    requestsPerMinute: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: "at most the org plan's" }),
    ),
    tokensPerMinute: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: "at most the org plan's" }),
    ),
  },
  { additionalProperties: false },
);

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ApiKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'the public part of the key; finds it, proves nothing' }),
  teamId: Nullable(Uuid),
  createdBy: Uuid,
  scopes: Type.Array(ApiKeyScope),
  expiresAt: Nullable(Timestamp),
  allowedModels: Nullable(Type.Array(Type.String())),
  allowedIps: Nullable(Type.Array(Type.String())),
  requestsPerMinute: Nullable(Type.Integer({ description: "the key's own limit; null: the plan's" })),
  tokensPerMinute: Nullable(Type.Integer({ description: "the key's own limit; null: the plan's" })),
  lastUsedAt: Nullable(Timestamp),
  previousValidUntil: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
  createdAt: Timestamp,
});
export const ApiKeyList = Type.Object({ items: Type.Array(ApiKey) });

export const ApiKeyWithSecret = Type.Object({
  ...ApiKey.properties,
  key: Type.String({ description: 'the whole key, shown only in this answer' }),
});

export const KeyIntrospection = Type.Object({
  keyId: Uuid,
  orgId: Uuid,
  teamId: Nullable(Uuid),
  scopes: Type.Array(ApiKeyScope),
  expiresAt: Nullable(Timestamp),
  allowedModels: Nullable(Type.Array(Type.String())),
  plan: Type.Union([
    Type.Literal('free'),
    Type.Literal('developer'),
    Type.Literal('team'),
    Type.Literal('enterprise'),
  ]),
  requestsPerMinute: Nullable(Type.Integer()),
  tokensPerMinute: Nullable(Type.Integer()),
});
