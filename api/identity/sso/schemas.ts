import Type from 'typebox';
import { User } from '../accounts/schemas.js';
import { Role, Timestamp, Uuid } from '../../common-schemas.js';

const MappableRole = Type.Union([
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('billing'),
  Type.Literal('viewer'),
]);

const Domain = Type.String({
  maxLength: 253,
  pattern: '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$',
  description: 'a lower-case DNS domain, e.g. example.com',
});

export const RoleMapping = Type.Object(
  {
    claim: Type.String({ minLength: 1, maxLength: 100, description: 'claim to read, e.g. groups' }),
    values: Type.Record(Type.String({ minLength: 1, maxLength: 200 }), MappableRole, {
      maxProperties: 100,
      description: 'claim value → role (never owner); the most capable match wins',
    }),
    default: MappableRole,
  },
  { additionalProperties: false },
);

export const PutSsoBody = Type.Object(
  {
    issuer: Type.String({
      format: 'uri',
      pattern: '^https?://[^\\u0000]*$',
      maxLength: 500,
      description: 'issuer URL; its /.well-known/openid-configuration is fetched on save',
    }),
    clientId: Type.String({ minLength: 1, maxLength: 255 }),
    clientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        description: 'required when creating; left out, the stored secret is kept. Never returned',
      }),
    ),
    allowedDomains: Type.Array(Domain, { minItems: 1, maxItems: 50, uniqueItems: true }),
    roleMapping: RoleMapping,
    audience: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description:
          "the aud of the provider's access tokens for the Vlinders API; without it the connection only signs people in and its tokens cannot call the API. Must differ from clientId (ID tokens carry that)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const SsoConnection = Type.Object({
  id: Uuid,
  issuer: Type.String(),
  clientId: Type.String(),
  allowedDomains: Type.Array(Type.String()),
  roleMapping: RoleMapping,
  audience: Type.Union([Type.String(), Type.Null()]),
  redirectUri: Type.String({ description: 'register this redirect URI with the identity provider' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const SsoLoginParams = Type.Object({ orgId: Uuid }, { additionalProperties: false });

export const SsoRedirect = Type.Object({
  location: Type.String({
    description:
      "the identity provider's authorization URL, or the authorization server's interaction to go back to (also in Location)",
  }),
});

// The identity provider adds parameters of its own (iss, session_state…), so others are allowed.
export const SsoCallbackQuery = Type.Object({
  state: Type.String({ minLength: 1, maxLength: 200 }),
  code: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  error: Type.Optional(Type.String({ maxLength: 200 })),
  error_description: Type.Optional(Type.String({ maxLength: 2000 })),
});

export const SsoSession = Type.Object({
  user: User,
  role: Role,
  orgId: Uuid,
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'access token lifetime in seconds' }),
});
