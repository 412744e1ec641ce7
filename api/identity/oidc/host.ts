// Holds the running oidc-provider and keeps its keystore in step with signing_keys. oidc-provider
// reads its keys once, when it is built; so the host lists the un-retired keys at most every
// SIGNING_KEY_REFRESH_SECONDS and, when the kid list changed (a key added, rotated to, or retired),
// builds a new provider with the new keystore. Everything the provider keeps lives in Postgres and
// the cookie keys stay the same, so the swap is invisible to clients; requests already in flight
// finish on the instance they started on.
//
// Why that interval bounds the publish-before-sign window: a replica learns of a new key at most
// SIGNING_KEY_REFRESH_SECONDS after it was written. So a key added to signing_keys and made the
// signing key only after that interval (the lifecycle's job) is already in every replica's JWKS and
// verification set by the time any replica signs with it, and a retired key leaves them within the
// same interval.
import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { Provider } from 'oidc-provider';
import type { Db } from '../../../db/client.js';
import type { Config } from '../../../runtime/config.js';
import type { MasterKey } from '../../../runtime/envelope.js';
import { privateSigningJwks } from '../signing-keys/signing-keys.js';
import { buildProvider } from './provider.js';

export interface RunningProvider {
  provider: Provider;
  callback: ReturnType<Provider['callback']>;
  kids: string;
  /** The public halves of the provider's keys, to verify the access tokens it issued. */
  verificationKeys: JWTVerifyGetKey;
}

export interface OidcHostOptions {
  config: Config;
  db: Db;
  master: MasterKey;
  /** Called with every provider built (event listeners, middleware). */
  onBuild: (provider: Provider) => void;
}

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const;

function publicHalf(jwk: JWK): JWK {
  const copy: JWK = { ...jwk };
  for (const member of privateMembers) delete copy[member];
  return copy;
}

export class OidcHost {
  private running: RunningProvider | undefined;
  private checkedAt = 0;
  private refreshing: Promise<RunningProvider> | undefined;
  private readonly intervalMs: number;

  constructor(private readonly options: OidcHostOptions) {
    this.intervalMs = options.config.SIGNING_KEY_REFRESH_SECONDS * 1000;
  }

  /** The provider, rebuilt first when the signing keys changed since the last check. */
  async current(): Promise<RunningProvider> {
    if (this.running && Date.now() - this.checkedAt < this.intervalMs) return this.running;
    return this.refresh();
  }

  /** Re-reads the keys now (single flight); rebuilds the provider when the kid list changed. */
  refresh(): Promise<RunningProvider> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Milliseconds since the keys were last read. */
  get keysAgeMs(): number {
    return Date.now() - this.checkedAt;
  }

  private async load(): Promise<RunningProvider> {
    const { config, db, master, onBuild } = this.options;
    const jwks = await privateSigningJwks(db, master);
    this.checkedAt = Date.now();
    const kids = jwks.map((k) => k.kid).join(' ');
    if (this.running?.kids === kids) return this.running;
    if (jwks.length === 0) throw new Error('no un-retired signing key: the auth plugin creates one at start');
    const provider = buildProvider({ config, db, master, jwks });
    onBuild(provider);
    const publicSet: JSONWebKeySet = { keys: jwks.map(publicHalf) };
    this.running = {
      provider,
      callback: provider.callback(),
      kids,
      verificationKeys: createLocalJWKSet(publicSet),
    };
    return this.running;
  }
}
