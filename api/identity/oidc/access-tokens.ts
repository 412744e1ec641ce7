// The API's side of the built-in authorization server: verifies the access tokens it issued.
// Signature (RS256 only, keys from the provider's keystore), issuer `${PUBLIC_URL}/oidc`, audience
// the Vlinders API, expiry and type are checked by jose. Then:
// - a token of the authorization-code flow (sub = a user) acts as that user, while its grant lives
//   (refresh-token reuse, revocation and client revocation delete the grant), and only if the user
//   consented to the `admin` scope: signing in to an app with `openid` must not hand it the user's
//   management rights;
// - a client-credentials token (sub = client_id) acts as a machine client of the client's org, with
//   the token's scopes narrowed to what the client may still have, wherever API keys are accepted.
//   The client and its org's entitlements are cached like an API key's row: read at most once per
//   `cacheTtlMs` (never above the API keys' 5 s, so a plan or subscription change reaches every
//   replica within it), a client found revoked or missing remembered as such for as long; revoking
//   a client publishes its id on the API keys' invalidation channel and every replica's `forget`
//   drops it at once. While the database does not answer, what it said about the client less than
//   `staleServeMs` ago stands in (without waiting on the database again until a refresh in the
//   background gets an answer), unless `forget` dropped it.
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { planLimits } from '../../../core/plans.js';
import { abilityFor } from '../../../core/policy.js';
import { apiKeyScopes, type ApiKeyScope } from '../../../core/rbac.js';
import { isDatabaseUnavailable, type Db } from '../../../db/client.js';
import { AppError } from '../../errors.js';
import { maxCacheTtlMs, type VerifiedKey } from '../api-keys/verifier.js';
import { findLiveClient } from '../oauth-clients/clients.js';
import { orgEntitlements } from '../../control/orgs/orgs.js';
import { grantIsLive } from './adapter.js';
import type { OidcHost } from './host.js';
import { readThroughOutage } from '../outage-read.js';

function scopesOf(payload: JWTPayload): string[] {
  return typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
}

export type OidcIdentity = { userId: string } | { key: VerifiedKey };

/** An introspection answer (RFC 7662 §2.2). */
export type Introspection =
  | { active: false }
  | {
      active: true;
      client_id: string;
      sub: string;
      scope: string;
      iss: string;
      aud: string;
      exp: number | undefined;
      iat: number | undefined;
      jti: string | undefined;
      token_type: 'Bearer';
    };

const inactive: Introspection = { active: false };

type MachineClient = {
  client: NonNullable<Awaited<ReturnType<typeof findLiveClient>>>;
  entitlements: Awaited<ReturnType<typeof orgEntitlements>>;
};

const maxKnownClients = 10_000;

/** An unknown kid re-reads the keys at most this often, so random kids cannot hammer the database. */
const unknownKidReloadMinMs = 5_000;

export interface MachineClientCache {
  /** How long a read of a client is answered from memory; capped at the API keys' 5 s, 0 never. */
  cacheTtlMs: number;
  /** How long a client read may be served while the database does not answer; 0 never. */
  staleServeMs: number;
}

export class OidcAccessTokens {
  private readonly known = new Map<string, { found: MachineClient | null; at: number }>();
  private readonly ttlMs: number;
  private readonly staleMs: number;
  private readonly loading = new Map<string, Promise<MachineClient | null>>();
  private databaseDown = false;
  /** Bumped by `forget`, so a read that started before it does not bring the client back. */
  private generation = 0;

  constructor(
    private readonly host: OidcHost,
    private readonly db: Db,
    private readonly issuer: string,
    private readonly audience: string,
    cache: MachineClientCache,
    private readonly now: () => number = Date.now,
  ) {
    this.ttlMs = Math.min(cache.cacheTtlMs, maxCacheTtlMs);
    this.staleMs = Math.max(cache.staleServeMs, this.ttlMs);
  }

  /** Drops what this replica remembers of a client (it was revoked or changed). */
  forget(clientId: string): void {
    this.generation++;
    this.known.delete(clientId);
  }

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

  /**
   * RFC 7662's answer about a token, asked by an authenticated client: active, with the token's
   * claims, only while it verifies, is still live (its grant, or its machine client) and was issued
   * to the client that asks; `{ active: false }` for anything else, whoever's it is.
   */
  async introspect(token: string, askingClientId: string): Promise<Introspection> {
    let payload: JWTPayload;
    try {
      payload = await this.verifiedPayload(token);
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return inactive;
      throw err;
    }
    const clientId = payload.client_id;
    if (clientId !== askingClientId || !payload.sub) return inactive;
    const live =
      payload.sub === clientId
        ? ((await this.machineClient(clientId))?.client.grantTypes.includes('client_credentials') ?? false)
        : typeof payload.grant === 'string' && (await grantIsLive(this.db, payload.grant));
    if (!live) return inactive;
    return {
      active: true,
      client_id: clientId,
      sub: payload.sub,
      scope: scopesOf(payload).join(' '),
      iss: this.issuer,
      aud: this.audience,
      exp: payload.exp,
      iat: payload.iat,
      jti: payload.jti,
      token_type: 'Bearer',
    };
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

  /** The client and its org's entitlements as the database said within the cache TTL, or shortly before it stopped answering. */
  private async machineClient(clientId: string): Promise<MachineClient | null> {
    const remembered = this.known.get(clientId);
    const age = remembered ? this.now() - remembered.at : Infinity;
    if (remembered && age < this.ttlMs) return remembered.found;
    const stale = remembered && age < this.staleMs ? remembered.found : null;
    return readThroughOutage(this.refresh(clientId), stale, this.databaseDown);
  }

  private refresh(clientId: string): Promise<MachineClient | null> {
    const inFlight = this.loading.get(clientId);
    if (inFlight) return inFlight;
    const generation = this.generation;
    const startedAt = this.now();
    const load = (async () => {
      const client = await findLiveClient(this.db, clientId);
      return client ? { client, entitlements: await orgEntitlements(this.db, client.orgId) } : null;
    })()
      .then(
        (found) => {
          this.databaseDown = false;
          this.known.delete(clientId);
          if (this.staleMs > 0 && generation === this.generation) {
            if (this.known.size >= maxKnownClients) this.known.delete(this.known.keys().next().value!);
            this.known.set(clientId, { found, at: startedAt });
          }
          return found;
        },
        (err: unknown) => {
          if (isDatabaseUnavailable(err)) this.databaseDown = true;
          throw err;
        },
      )
      .finally(() => this.loading.delete(clientId));
    this.loading.set(clientId, load);
    return load;
  }

  private async machineKey(clientId: string, payload: JWTPayload): Promise<VerifiedKey> {
    const found = await this.machineClient(clientId);
    const client = found?.client;
    if (!found || !client || !client.grantTypes.includes('client_credentials'))
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
        planModels: planLimits(found.entitlements.plan).models,
      }),
      // The org's limits and subscription, no lower limits of its own.
      ...found.entitlements,
      requestsPerMinute: null,
      tokensPerMinute: null,
    };
  }
}
