// The API's side of the built-in authorization server: verifies the access tokens it issued.
// Signature (RS256 only, keys from the provider's keystore), issuer `${PUBLIC_URL}/oidc`, audience
// the Vlinders API, expiry and type are checked by jose. Then:
// - a token of the authorization-code flow (sub = a user) acts as that user, while its grant lives
//   (refresh-token reuse, revocation and client revocation delete the grant), and only if the user
//   consented to the `admin` scope: signing in to an app with `openid` must not hand it the user's
//   management rights;
// - a client-credentials token (sub = client_id) acts as a machine client of the client's org, with
//   the token's scopes narrowed to what the client may still have, wherever API keys are accepted.
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { abilityFor } from '../../../core/policy.js';
import { apiKeyScopes, type ApiKeyScope } from '../../../core/rbac.js';
import type { Db } from '../../../db/client.js';
import { AppError } from '../../errors.js';
import type { VerifiedKey } from '../api-keys/verifier.js';
import { findLiveClient } from '../oauth-clients/clients.js';
import { orgEntitlements } from '../../control/orgs/orgs.js';
import { grantIsLive } from './adapter.js';
import type { OidcHost } from './host.js';

function scopesOf(payload: JWTPayload): string[] {
  return typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
}

export type OidcIdentity = { userId: string } | { key: VerifiedKey };

/** An unknown kid re-reads the keys at most this often, so random kids cannot hammer the database. */
const unknownKidReloadMinMs = 5_000;

export class OidcAccessTokens {
  constructor(
    private readonly host: OidcHost,
    private readonly db: Db,
    private readonly issuer: string,
    private readonly audience: string,
  ) {}

  /** Whether the (unverified) token names our authorization server as its issuer. */
  issuedByUs(token: string): boolean {
    try {
      return decodeJwt(token).iss === this.issuer;
    } catch {
      return false;
    }
  }

  /** The identity a token of ours carries; throws INVALID_TOKEN for anything else. */
  async verify(token: string): Promise<OidcIdentity> {
    try {
      const payload = await this.verifiedPayload(token);
      const clientId = payload.client_id;
      if (typeof clientId !== 'string' || !payload.sub) throw new AppError('INVALID_TOKEN');
      if (payload.sub === clientId) return { key: await this.machineKey(clientId, payload) };
      if (typeof payload.grant !== 'string' || !(await grantIsLive(this.db, payload.grant)))
        throw new AppError('INVALID_TOKEN', 'The token was revoked.');
      if (!scopesOf(payload).includes('admin'))
        throw new AppError(
          'FORBIDDEN',
          "The token's scopes do not include admin, which management calls need.",
        );
      return { userId: payload.sub };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw new AppError('INVALID_TOKEN');
      throw err;
    }
  }

  private async verifiedPayload(token: string): Promise<JWTPayload> {
    const check = async () => {
      const { verificationKeys } = await this.host.current();
      const { payload } = await jwtVerify(token, verificationKeys, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: ['RS256'],
        typ: 'at+jwt',
        requiredClaims: ['sub', 'client_id', 'exp', 'iat', 'jti'],
      });
      return payload;
    };
    try {
      return await check();
    } catch (err) {
      // Another replica may have added a key this one has not read yet.
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || this.host.keysAgeMs < unknownKidReloadMinMs)
        throw err;
      await this.host.refresh();
      return check();
    }
  }

  private async machineKey(clientId: string, payload: JWTPayload): Promise<VerifiedKey> {
    const client = await findLiveClient(this.db, clientId);
    if (!client || !client.grantTypes.includes('client_credentials'))
      throw new AppError('INVALID_TOKEN', 'The client was revoked.');
    const granted = scopesOf(payload);
    const scopes = apiKeyScopes.filter(
      (s): s is ApiKeyScope => granted.includes(s) && client.scopes.includes(s),
    );
    return {
      keyId: client.id,
      orgId: client.orgId,
      teamId: null,
      scopes,
      allowedModels: null,
      expiresAt: payload.exp ? new Date(payload.exp * 1000) : null,
      // A machine client is decided like an API key of its org with the client's granted scopes.
      ability: abilityFor({
        kind: 'api-key',
        keyId: client.id,
        orgId: client.orgId,
        teamId: null,
        scopes,
        allowedModels: null,
        allowedIps: null,
      }),
      // The org's limits and subscription, no lower limits of its own.
      ...(await orgEntitlements(this.db, client.orgId)),
      requestsPerMinute: null,
      tokensPerMinute: null,
    };
  }
}
