import Type from 'typebox';
import { clientIdPattern } from './clients.js';
import { ApiKeyScope } from '../api-keys/schemas.js';
import { namePattern, Timestamp, Uuid, whiteSpace } from '../../common-schemas.js';

const ClientId = Type.String({ pattern: clientIdPattern, description: 'vlc_<org id>_<random>' });

export const OAuthClientParams = Type.Object(
  { orgId: Uuid, clientId: ClientId },
  { additionalProperties: false },
);

const GrantType = Type.Union([Type.Literal('authorization_code'), Type.Literal('client_credentials')]);

const port = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})';
/**
 * What the server takes as a redirect URI (clients.ts checks it again): https on a DNS name, or http
 * on a loopback address (native apps, RFC 8252); a port, a path and a query; no credentials, no
 * fragment, no NUL. Host labels are letters, digits and single dashes: no `xn--` label, whose
 * punycode the URL parser may refuse (so an IDN host is not taken here).
 */
const redirectUriPattern =
  `^(https://([A-Za-z0-9]+(-[A-Za-z0-9]+)*\\.){1,8}[A-Za-z]{2,63}|http://(localhost|127\\.0\\.0\\.1|\\[::1\\]))` +
  `(:${port})?([/?][^#${whiteSpace}\\\\\\u0000]*)?$`;

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: namePattern });
const Scopes = Type.Array(ApiKeyScope, {
  maxItems: 4,
  uniqueItems: true,
  description: 'API scopes the client may ask for',
});

/** Two kinds of client: the redirect URIs come with the code flow and only with it. */
export const CreateOAuthClientBody = Type.Union([
  Type.Object(
    {
      name: Name,
      grantTypes: Type.Array(GrantType, {
        minItems: 1,
        maxItems: 2,
        uniqueItems: true,
        contains: { const: 'authorization_code' },
        description:
          'authorization_code (users sign in; refresh tokens come with it), and client_credentials if wanted',
      }),
      redirectUris: Type.Array(Type.String({ maxLength: 2000, pattern: redirectUriPattern }), {
        minItems: 1,
        maxItems: 10,
        uniqueItems: true,
        description: 'where users come back after signing in: https, or http on a loopback address',
      }),
      scopes: Scopes,
    },
    { additionalProperties: false, title: 'code-flow client' },
  ),
  Type.Object(
    {
      name: Name,
      grantTypes: Type.Array(Type.Literal('client_credentials'), {
        minItems: 1,
        maxItems: 1,
        description: 'client_credentials only: a machine client, no user and no redirect',
      }),
      scopes: Scopes,
    },
    { additionalProperties: false, title: 'client-credentials client' },
  ),
]);

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
