import Type from 'typebox';
import { clientIdPattern } from './clients.js';
import { ApiKeyScope } from '../api-keys/schemas.js';
import { Timestamp, Uuid } from '../../common-schemas.js';

const ClientId = Type.String({ pattern: clientIdPattern, description: 'vlc_<org id>_<random>' });

export const OAuthClientParams = Type.Object(
  { orgId: Uuid, clientId: ClientId },
  { additionalProperties: false },
);

const GrantType = Type.Union([Type.Literal('authorization_code'), Type.Literal('client_credentials')]);

export const CreateOAuthClientBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    grantTypes: Type.Array(GrantType, {
      minItems: 1,
      maxItems: 2,
      uniqueItems: true,
      description:
        'authorization_code (users sign in; refresh tokens come with it) and/or client_credentials',
    }),
    redirectUris: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
        minItems: 1,
        maxItems: 10,
        uniqueItems: true,
        description: 'required for authorization_code: https, or http on a loopback address',
      }),
    ),
    scopes: Type.Array(ApiKeyScope, {
      maxItems: 4,
      uniqueItems: true,
      description: 'API scopes the client may ask for',
    }),
  },
  { additionalProperties: false },
);

export const OAuthClient = Type.Object({
  id: Uuid,
  clientId: ClientId,
  name: Type.String(),
  grantTypes: Type.Array(
    Type.Union([
      Type.Literal('authorization_code'),
      Type.Literal('refresh_token'),
      Type.Literal('client_credentials'),
    ]),
  ),
  redirectUris: Type.Array(Type.String()),
  scopes: Type.Array(ApiKeyScope),
  createdBy: Uuid,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
});
export const OAuthClientList = Type.Object({ items: Type.Array(OAuthClient) });

export const OAuthClientWithSecret = Type.Object({
  ...OAuthClient.properties,
  clientSecret: Type.String({ description: 'the client secret, shown only in this answer' }),
});
