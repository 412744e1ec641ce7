// Short-lived RS256 access tokens. Each replica keeps the published signing keys in memory,
// reloaded every keyRefreshSeconds: it signs with the newest active key (a key rotated in elsewhere
// starts signing here at its activation time, or at the next reload) and verifies with any
// published key by `kid`. An unknown kid triggers one reload (another replica may have rotated),
// rate-limited so random kids cannot hammer the database.
//
// A password reset ends the account's access tokens too: a token issued before the user's
// `tokens_valid_after`, or in the same second (`iat` counts whole seconds), is refused — so is a
// sign-in within the very second of the reset. Each replica trusts what it read of that time for
// `cutoffCacheMs`, so a reset reaches every replica within 5 s (as a key's revocation without
// Redis); while the database does not answer, the last value read stands, and a user never read
// gets 503.
import { eq } from 'drizzle-orm';
import {
  errors as joseErrors,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWTHeaderParameters,
} from 'jose';
import type { Db } from '../../../db/client.js';
import { users } from '../../../db/schema/index.js';
import type { MasterKey } from '../../../runtime/envelope.js';
import { AppError } from '../../errors.js';
import { readThroughOutage } from '../outage-read.js';
import type { Actor } from '../../audit.js';
import {
  ensureSigningKey,
  isPublished,
  keyRefreshSeconds,
  listPublishedKeys,
  openSigningKey,
  rotateSigningKey,
  signingAlgorithm,
  signingKeyAt,
  type PublishedKey,
  type RsaPublicJwk,
  type SigningKeyTimings,
} from '../signing-keys/signing-keys.js';

export const accessTokenAudience = 'vlinders-api';
const unknownKidReloadMinMs = 5_000;
/** Replicas' clocks may differ a little; a token issued or expiring within this margin is fine. */
const clockSkewSeconds = 30;
const cutoffCacheMs = 5_000;
const maxCachedCutoffs = 50_000;

export interface AccessTokenSettings {
  issuer: string;
  ttlSeconds: number;
}

export interface IssuedAccessToken {
  accessToken: string;
  expiresIn: number;
}

export class AccessTokens {
  private published: PublishedKey[] = [];
  private verifying = new Map<string, CryptoKey>();
  private readonly signing = new Map<string, Promise<CryptoKey>>();
  private loadedAt = 0;
  /** Per user: the Unix second before which tokens are refused (null: none), and until when it is fresh. */
  private readonly cutoffs = new Map<string, { validAfter: number | null; freshUntil: number }>();

  constructor(
    private readonly db: Db,
    private readonly master: MasterKey,
    private readonly settings: AccessTokenSettings,
  ) {}

  /** Makes sure a key signs (creating one on first start) and loads the published keys. */
  async start(): Promise<void> {
    await ensureSigningKey(this.db, this.master);
    await this.reloadPublicKeys();
  }

  /** The kid new tokens carry now. */
  get currentKid(): string {
    return this.signingKey().kid;
  }

  /** When the key new tokens carry began to sign (its age says when a rotation is due). */
  get signingSince(): Date {
    return this.signingKey().activatesAt;
  }

  async issue(userId: string): Promise<IssuedAccessToken> {
    await this.reloadIfStale();
    const { kid } = this.signingKey();
    const accessToken = await new SignJWT({})
      .setProtectedHeader({ alg: signingAlgorithm, kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setAudience(accessTokenAudience)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(`${this.settings.ttlSeconds}s`)
      .sign(await this.privateKey(kid));
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
      const validAfter = await this.tokensValidAfter(payload.sub);
      if (validAfter !== null && payload.iat! <= validAfter) throw new AppError('INVALID_TOKEN');
      return { userId: payload.sub };
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JOSEError) throw new AppError('INVALID_TOKEN');
      throw err;
    }
  }

  /** The Unix second of the user's last password reset (tokens issued up to it are refused), or null. */
  private async tokensValidAfter(userId: string): Promise<number | null> {
    const cached = this.cutoffs.get(userId);
    if (cached && cached.freshUntil > Date.now()) return cached.validAfter;
    const loading = this.db
      .select({ tokensValidAfter: users.tokensValidAfter })
      .from(users)
      .where(eq(users.id, userId))
      .then(([row]) => {
        const entry = {
          validAfter: row?.tokensValidAfter ? Math.floor(row.tokensValidAfter.getTime() / 1000) : null,
          freshUntil: Date.now() + cutoffCacheMs,
        };
        if (this.cutoffs.size >= maxCachedCutoffs) this.cutoffs.delete(this.cutoffs.keys().next().value!);
        this.cutoffs.delete(userId);
        this.cutoffs.set(userId, entry);
        return entry;
      });
    return (await readThroughOutage(loading, cached ?? null, false)).validAfter;
  }

  /** The public keys to publish: every key not yet retired, including those not signing yet. */
  async jwks(): Promise<{ keys: RsaPublicJwk[] }> {
    await this.reloadIfStale();
    const now = new Date();
    return { keys: this.published.filter((k) => isPublished(k, now)).map((k) => k.jwk) };
  }

  /** Publishes a new key that signs after timings.publishSeconds; answers its kid and activation. */
  async rotate(timings: SigningKeyTimings, actor: Actor): Promise<{ kid: string; activatesAt: Date }> {
    const { kid, activatesAt } = await rotateSigningKey(this.db, this.master, timings, actor);
    await this.reloadPublicKeys();
    return { kid, activatesAt };
  }

  private signingKey(): PublishedKey {
    const key = signingKeyAt(this.published, new Date());
    if (!key) throw new Error('no signing key is active: was AccessTokens.start() called?');
    return key;
  }

  private privateKey(kid: string): Promise<CryptoKey> {
    let key = this.signing.get(kid);
    if (!key) {
      key = openSigningKey(this.db, this.master, kid);
      this.signing.set(kid, key);
      // A failed open is not remembered: the next token asks the database again.
      key.catch(() => this.signing.delete(kid));
    }
    return key;
  }

  private async keyFor(header: JWTHeaderParameters): Promise<CryptoKey> {
    const kid = header.kid;
    if (!kid) throw new AppError('INVALID_TOKEN');
    await this.reloadIfStale();
    if (!this.verifying.has(kid) && Date.now() - this.loadedAt >= unknownKidReloadMinMs)
      await this.reloadPublicKeys();
    const published = this.published.find((k) => k.kid === kid);
    const key = this.verifying.get(kid);
    // A key past its retire time verifies nothing, even before the next reload drops it.
    if (!key || !published || !isPublished(published, new Date())) throw new AppError('INVALID_TOKEN');
    return key;
  }

  private async reloadIfStale(): Promise<void> {
    if (Date.now() - this.loadedAt >= keyRefreshSeconds * 1000) await this.reloadPublicKeys();
  }

  private async reloadPublicKeys(): Promise<void> {
    const published = await listPublishedKeys(this.db);
    const verifying = new Map<string, CryptoKey>();
    for (const { kid, jwk } of published) {
      const key = this.verifying.get(kid) ?? (await importJWK(jwk, signingAlgorithm));
      if (key instanceof Uint8Array) throw new Error(`public key ${kid} is not an asymmetric key`);
      verifying.set(kid, key);
    }
    for (const kid of this.signing.keys()) if (!verifying.has(kid)) this.signing.delete(kid);
    this.published = published;
    this.verifying = verifying;
    this.loadedAt = Date.now();
  }
}
