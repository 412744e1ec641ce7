// Short-lived RS256 access tokens. Verification looks keys up by `kid` among the un-retired keys;
// an unknown kid triggers one reload (another replica may have rotated), rate-limited so random
// kids cannot hammer the database.
import {
  errors as joseErrors,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWTHeaderParameters,
} from 'jose';
import type { Db } from '../../db/client.js';
import type { MasterKey } from '../../runtime/envelope.js';
import { AppError } from '../errors.js';
import {
  listPublicKeys,
  loadOrCreateSigningKey,
  retireSigningKey,
  rotateSigningKey,
  signingAlgorithm,
  type ActiveSigningKey,
  type RsaPublicJwk,
} from './signing-keys.js';

export const accessTokenAudience = 'vlinders-api';
const reloadIntervalMs = 60_000;
const unknownKidReloadMinMs = 5_000;
/** Replicas' clocks may differ a little; a token issued or expiring within this margin is fine. */
const clockSkewSeconds = 30;

export interface AccessTokenSettings {
  issuer: string;
  ttlSeconds: number;
}

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

export class AccessTokens {
  private signing: ActiveSigningKey | undefined;
  private verifying = new Map<string, CryptoKey>();
  private publicJwks: RsaPublicJwk[] = [];
  private loadedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly master: MasterKey,
    private readonly settings: AccessTokenSettings,
  ) {}

  /** Loads the newest un-retired key (creating one on first start) and the verification keys. */
  async start(): Promise<void> {
    this.signing = await loadOrCreateSigningKey(this.db, this.master);
    await this.reloadPublicKeys();
  }

  get currentKid(): string {
    return this.activeKey().kid;
  }

  async issue(userId: string): Promise<IssuedAccessToken> {
    const key = this.activeKey();
    const accessToken = await new SignJWT({})
      .setProtectedHeader({ alg: signingAlgorithm, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setAudience(accessTokenAudience)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.ttlSeconds}s`)
      .sign(key.privateKey);
    return { accessToken, expiresIn: this.settings.ttlSeconds };
  }

  /**
   * Verifies signature, issuer, audience, expiry and issue time (nbf and iat may not lie in the
   * future beyond the clock skew); answers the user id or throws INVALID_TOKEN.
   */
  async verify(token: string): Promise<{ userId: string }> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keyFor(header), {
        issuer: this.settings.issuer,
        audience: accessTokenAudience,
        algorithms: [signingAlgorithm],
        typ: 'at+jwt',
        requiredClaims: ['sub', 'exp', 'iat'],
        // Also refuses an iat in the future: without it jose checks iat's type only.
        maxTokenAge: this.settings.ttlSeconds,
        clockTolerance: clockSkewSeconds,
      });
      if (!payload.sub) throw new AppError('INVALID_TOKEN');
      return { userId: payload.sub };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JOSEError) throw new AppError('INVALID_TOKEN');
      throw err;
    }
  }

  /** The public keys to publish: every un-retired key. */
  async jwks(): Promise<{ keys: RsaPublicJwk[] }> {
    await this.reloadIfStale();
    return { keys: this.publicJwks };
  }

  /** A new key signs from now on; the previous one keeps verifying until retired. */
  async rotate(): Promise<string> {
    this.signing = await rotateSigningKey(this.db, this.master);
    await this.reloadPublicKeys();
    return this.signing.kid;
  }

  async retire(kid: string): Promise<void> {
    if (kid === this.signing?.kid) throw new Error('rotate before retiring the key that signs');
    await retireSigningKey(this.db, kid);
    await this.reloadPublicKeys();
  }

  private activeKey(): ActiveSigningKey {
    if (!this.signing) throw new Error('AccessTokens.start() was not called');
    return this.signing;
  }

  private async keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    const kid = header.kid;
    if (!kid) throw new AppError('INVALID_TOKEN');
    await this.reloadIfStale();
    if (!this.verifying.has(kid) && Date.now() - this.loadedAt >= unknownKidReloadMinMs)
      await this.reloadPublicKeys();
    const key = this.verifying.get(kid);
    if (!key) throw new AppError('INVALID_TOKEN');
    return key;
  }

  private async reloadIfStale(): Promise<void> {
    if (Date.now() - this.loadedAt >= reloadIntervalMs) await this.reloadPublicKeys();
  }

  private async reloadPublicKeys(): Promise<void> {
    const entries = await listPublicKeys(this.db);
    const verifying = new Map<string, CryptoKey>();
    for (const { kid, jwk } of entries) {
      const key = await importJWK(jwk, signingAlgorithm);
      if (key instanceof Uint8Array) throw new Error(`public key ${kid} is not an asymmetric key`);
      verifying.set(kid, key);
    }
    this.verifying = verifying;
    this.publicJwks = entries.map((e) => e.jwk);
    this.loadedAt = Date.now();
  }
}
