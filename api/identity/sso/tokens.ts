// Bearer JWTs issued by an org's identity provider. Only issuers some org has configured are ever
// contacted: the token's (unverified) issuer selects connections from the database first, and only
// then is that issuer's JWKS fetched (cached per JWKS URL, refetched on an unknown kid at most once per
// cooldown). Only access tokens are taken: a connection without an API audience authenticates no
// API call, and a token whose `aud` names the connection's client id is an ID token (OpenID Connect
// Core puts the client id in every ID token's `aud`) and is refused, whatever else it carries. The
// signature, issuer, audience (the connection's API audience), exp and nbf (with a small clock
// tolerance) and an algorithm allow-list are checked; the token then acts as the platform user
// linked to its subject through that connection.
import { and, eq, sql } from 'drizzle-orm';
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import type { Db } from '../../../db/client.js';
import { ssoConnections, ssoIdentities } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { egressErrorOf, type EgressGuard } from '../../../runtime/egress.js';
import { AppError } from '../../errors.js';
import type { SsoConnectionRow } from './connections.js';

/** Asymmetric algorithms only: never `none`, never an HMAC keyed with a public key. */
export const ssoTokenAlgorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];

const maxIssuerLength = 500;
const jwksTimeoutMs = 5_000;

export interface SsoTokenSettings {
  /** The JWKS is fetched through the egress guard (its URL comes from the issuer's discovery document). */
  egress: EgressGuard;
  clockToleranceSeconds: number;
  jwksCooldownSeconds: number;
}

/** The `iss` a JWT claims, unverified: only to choose its verifier. Undefined when there is none. */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

const invalid = (message?: string) => new AppError('INVALID_TOKEN', message);

export class SsoTokenVerifier {
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(
    private readonly db: Db,
    private readonly settings: SsoTokenSettings,
  ) {}

  /** Verifies a token from a configured issuer; answers the linked user or throws INVALID_TOKEN. */
  async verify(token: string): Promise<{ id: string }> {
    let issuer: unknown;
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      issuer = decodeJwt(token).iss;
    } catch {
      throw invalid();
    }
    // Refused before any I/O: a token that could never verify costs no query and no fetch.
    if (typeof alg !== 'string' || !ssoTokenAlgorithms.includes(alg)) throw invalid();
    if (typeof issuer !== 'string' || issuer.length === 0 || issuer.length > maxIssuerLength) throw invalid();
    const configured = await this.connectionsOf(issuer);
    if (configured.length === 0)
      throw invalid('The token comes from an issuer no organization has configured.');
    const connections = configured.filter(
      (c): c is SsoConnectionRow & { audience: string } => c.audience !== null,
    );
    const first = connections[0];
    if (!first)
      throw invalid(
        "The organization's single sign-on connection names no API audience, so its tokens cannot call the API.",
      );
    const payload = await this.verifySignature(
      token,
      issuer,
      first,
      connections.map((c) => c.audience),
    );
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const connection = connections.find((c) => audiences.includes(c.audience));
    if (!connection || !payload.sub) throw invalid();
    if (audiences.includes(connection.clientId))
      throw invalid('An ID token is not an access token; present an access token for the API audience.');
    const subject = payload.sub;
    const [link] = await withTenant(this.db, connection.orgId, (tx) =>
      tx
        .select({ userId: ssoIdentities.userId })
        .from(ssoIdentities)
        .where(and(eq(ssoIdentities.connectionId, connection.id), eq(ssoIdentities.subject, subject))),
    );
    if (!link) throw invalid('No user has signed in through single sign-on with this subject yet.');
    return { id: link.userId };
  }

  /** The connections that accept tokens of this issuer, read before any tenant is known. */
  private connectionsOf(issuer: string): Promise<SsoConnectionRow[]> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT set_config('app.sso_issuer', ${issuer}, true)`);
      return tx.select().from(ssoConnections).where(eq(ssoConnections.issuer, issuer));
    });
  }

  private async verifySignature(
    token: string,
    issuer: string,
    connection: SsoConnectionRow,
    audiences: string[],
  ): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.keySet(connection), {
        issuer,
        audience: audiences,
        algorithms: ssoTokenAlgorithms,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      });
      return payload;
    } catch (err) {
      if (err instanceof AppError) throw err;
      const egress = egressErrorOf(err);
      if (egress?.refused) throw invalid();
      if (
        egress ||
        err instanceof joseErrors.JWKSTimeout ||
        (err instanceof TypeError && err.message === 'fetch failed')
      )
        throw new AppError('UNAVAILABLE', "The token issuer's keys cannot be fetched; try again.");
      if (err instanceof joseErrors.JOSEError) throw invalid();
      throw err;
    }
  }

  private keySet(connection: SsoConnectionRow): ReturnType<typeof createRemoteJWKSet> {
    const uri = connection.metadata.jwks_uri;
    if (!uri) throw invalid();
    let set = this.keySets.get(uri);
    if (!set) {
      set = createRemoteJWKSet(new URL(uri), {
        cooldownDuration: this.settings.jwksCooldownSeconds * 1000,
        timeoutDuration: jwksTimeoutMs,
        [customFetch]: this.settings.egress.fetch,
      });
      this.keySets.set(uri, set);
    }
    return set;
  }
}
