// The one place that reads the environment. Parsed once at start-up against a schema; a bad or
// missing value stops the process with one line per variable naming what it expects.
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { parseAllowList } from '../core/egress-addresses.js';
import { parsePreviousMasterKeys } from './envelope.js';

export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1', description: 'address the API listens on' }),
  PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 3000,
    description: 'API port (0 picks a free one)',
  }),
  PUBLIC_URL: Type.String({
    format: 'uri',
    default: 'http://localhost:3000',
    description: 'external URL of the API; the token issuer',
  }),
  INFERENCE_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+[^/\\s]$',
      description:
        "where workers call the platform's own /v1 (file ingestion's embeddings), e.g. http://api:3000/v1; unset means PUBLIC_URL/v1",
    }),
  ),
  TLS_CERT_PATH: Type.Optional(
    Type.String({ description: 'PEM certificate (chain) to serve HTTPS directly; set with TLS_KEY_PATH' }),
  ),
  TLS_KEY_PATH: Type.Optional(
    Type.String({ description: 'PEM private key to serve HTTPS directly; set with TLS_CERT_PATH' }),
  ),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    default: 1_048_576,
    description: 'largest accepted request body',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    minimum: 0,
    default: 10_000,
    description: 'how long shutdown waits for in-flight work',
  }),

  DATABASE_URL: Type.String({
    pattern: '^postgres(ql)?://',
    description: 'PostgreSQL URL the API and workers use (a role that is neither owner nor BYPASSRLS)',
  }),
  DATABASE_MIGRATION_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description: 'PostgreSQL URL of the schema owner, for migrations (defaults to DATABASE_URL)',
    }),
  ),
  DATABASE_REWRAP_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://',
      description:
        'PostgreSQL URL of a login that is a member of vlinders_rewrap, for npm run secrets:rewrap (defaults to DATABASE_MIGRATION_URL, then DATABASE_URL)',
    }),
  ),
  DATABASE_APP_ROLE: Type.Optional(
    Type.String({
      pattern: '^[a-z_][a-z0-9_]*$',
      description: 'role to SET on every app connection when the login role is a superuser (embedded PGlite)',
    }),
  ),
  DATABASE_POOL_SIZE: Type.Integer({
    minimum: 1,
    maximum: 200,
    default: 10,
    description: 'connections per process',
  }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    maximum: 60_000,
    default: 1_000,
    description:
      'how long the API may take to get a database connection (open one, or wait for a free one) before the call fails as DATABASE_UNAVAILABLE (503)',
  }),
  DATABASE_QUERY_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    maximum: 600_000,
    default: 1_000,
    description:
      'deadline of one API query: the server cancels it (statement_timeout) and the API gives up 250 ms later on a server that does not answer at all; the route answers 503 DATABASE_UNAVAILABLE',
  }),
  DATABASE_WORKER_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    maximum: 3_600_000,
    default: 60_000,
    description:
      "the workers' deadline of one query and of getting a connection (billing runs and exports run longer queries; activities retry)",
  }),

  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'Redis URL; without it limits and caches are in-process (single instance only)',
    }),
  ),

  LIMITS_REDIS_DOWN_POLICY: Type.Union([Type.Literal('fail-open'), Type.Literal('fail-closed')], {
    default: 'fail-open',
    description:
      'what inference limits do while Redis is unreachable: fail-open (each replica enforces the full limits in memory) or fail-closed (refuse with 503)',
  }),
  LIMITS_REDIS_TIMEOUT_MS: Type.Integer({
    minimum: 5,
    maximum: 5_000,
    // Not lower: a busy API process can stall its event loop for a good part of 100 ms, and each
    // false alarm lets every replica admit the full limits on its own for a while.
    default: 500,
    description: 'a limits call to Redis slower than this counts as Redis down',
  }),
  USAGE_STREAM: Type.String({
    pattern: '^[A-Za-z0-9:._-]{1,128}$',
    default: 'vlinders:usage',
    description:
      'Redis stream of usage events (API appends, usage-ingest worker consumes; <stream>:dead holds malformed entries)',
  }),
  USAGE_STREAM_TIMEOUT_MS: Type.Integer({
    minimum: 5,
    maximum: 5_000,
    default: 500,
    description:
      'an append to the usage stream slower than this fails over: the API writes the event to the ledger itself',
  }),
  USAGE_INGEST_BATCH_SIZE: Type.Integer({
    minimum: 1,
    maximum: 10_000,
    default: 1000,
    description: 'usage events the ingest worker reads and stores per batch',
  }),
  USAGE_INGEST_CLAIM_IDLE_MS: Type.Integer({
    minimum: 100,
    default: 30_000,
    description:
      'how long a usage event may stay delivered but unstored before another ingest worker takes it over (a crashed consumer)',
  }),

  CONSOLE_DIR: Type.String({
    default: 'console/dist',
    description:
      "the admin console's built files (index.html, assets/), served under /console; relative to the working directory",
  }),
  CORS_ORIGINS: Type.Array(Type.String({ pattern: '^https?://[^/\\s,]+$' }), {
    default: [],
    description: 'comma-separated browser origins allowed to call the API (none by default)',
  }),
  TEMPORAL_ADDRESS: Type.String({ default: 'localhost:7233', description: 'Temporal frontend host:port' }),
  TEMPORAL_NAMESPACE: Type.String({ default: 'default', description: 'Temporal namespace' }),
  TEMPORAL_TLS: Type.Boolean({
    default: false,
    description: 'connect to Temporal over TLS (Temporal Cloud)',
  }),
  TEMPORAL_TLS_CERT_PATH: Type.Optional(Type.String({ description: 'client certificate (mTLS)' })),
  TEMPORAL_TLS_KEY_PATH: Type.Optional(Type.String({ description: 'client key (mTLS)' })),
  TEMPORAL_API_KEY: Type.Optional(Type.String({ description: 'Temporal Cloud API key' })),
  TEMPORAL_UI_ORIGIN: Type.String({
    default: 'http://localhost:8233',
    description:
      'origin allowed to call the codec endpoint; the admin console links to the Temporal UI there',
  }),
  GRAFANA_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+[^/\\s]$',
      description: "Grafana's base URL, for the admin console's links to dashboards; unset means no links",
    }),
  ),

  MASTER_KEY: Type.String({
    pattern: '^[A-Za-z0-9+/]{43}=$',
    description:
      '32 random bytes, base64: wraps the data key of every stored secret (tenant data keys, signing keys, platform secrets)',
  }),
  MASTER_KEY_ID: Type.String({
    pattern: '^[A-Za-z0-9_-]{1,32}$',
    default: 'm1',
    description: 'id of MASTER_KEY, stored beside what it wraps',
  }),
  MASTER_KEYS_PREVIOUS: Type.String({
    default: '',
    description:
      'comma-separated <id>:<base64 key> of earlier master keys that still open what they wrapped; remove one after npm run secrets:rewrap',
  }),

  SIGNING_KEY_PUBLISH_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    default: 360,
    description:
      'how long a rotated signing key is published in the JWKS before it signs; the JWKS max-age is capped at it minus the 60 s key refresh of replicas, so caches see a key before its tokens',
  }),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, default: 900, description: 'access token lifetime' }),
  REFRESH_TOKEN_TTL_SECONDS: Type.Integer({
    minimum: 300,
    default: 2_592_000,
    description: 'refresh token lifetime',
  }),
  AUTH_ATTEMPTS_PER_MINUTE: Type.Integer({
    minimum: 1,
    default: 30,
    description: 'sign-up, login and token requests allowed per client address per minute',
  }),
  LOGIN_MAX_FAILURES: Type.Integer({
    minimum: 1,
    default: 5,
    description: 'failed logins after which an account is locked',
  }),
  LOGIN_LOCKOUT_SECONDS: Type.Integer({
    minimum: 1,
    default: 900,
    description: 'how long a locked account refuses logins (counted from its first failure)',
  }),
  INVITATION_TTL_HOURS: Type.Integer({
    minimum: 1,
    default: 168,
    description: 'how long an invitation can be accepted',
  }),
  EMAIL_VERIFICATION_TTL_HOURS: Type.Integer({
    minimum: 1,
    maximum: 168,
    default: 48,
    description: 'how long the link in a sign-up verification mail works',
  }),
  PASSWORD_RESET_TTL_MINUTES: Type.Integer({
    minimum: 5,
    maximum: 1440,
    default: 30,
    description: 'how long the link in a password reset mail works',
  }),
  API_KEY_ENV: Type.String({
    pattern: '^[a-z0-9]{1,16}$',
    default: 'live',
    description: 'environment segment of the API keys this deployment issues and accepts (vl_<env>_…)',
  }),
  API_KEY_ROTATION_GRACE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 2_592_000,
    default: 86_400,
    description: "how long a rotated API key's previous secret keeps working",
  }),
  API_KEY_FAILURES_PER_MINUTE: Type.Integer({
    minimum: 1,
    default: 20,
    description:
      'failed API-key checks allowed per client address per minute; past it, every key from the address is refused (429) until the minute ends',
  }),
  API_KEY_SPIKE_FACTOR: Type.Number({
    minimum: 2,
    maximum: 1000,
    default: 10,
    description:
      "a key making more than this many times its own baseline of requests per minute is reported (security: api-key-spike); the baseline is each API replica's moving average over about an hour",
  }),
  API_KEY_SPIKE_MIN_REQUESTS_PER_MINUTE: Type.Integer({
    minimum: 1,
    default: 300,
    description: 'a spike must also exceed this many requests per minute on one API replica',
  }),
  API_KEY_SPIKE_WARMUP_MINUTES: Type.Integer({
    minimum: 0,
    maximum: 1440,
    default: 60,
    description: "minutes of a key's history an API replica needs before it judges the key's spikes",
  }),
  IP_COUNTRY_RANGES_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "a CSV of first,last,country address ranges (DB-IP's IP to Country Lite format); with it, a key used from a new network whose address has no country is reported (security: api-key-countryless-address)",
    }),
  ),
  API_KEY_STALE_SERVE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 86_400,
    default: 300,
    description:
      'while the database does not answer, an API key or machine client verified less than this long ago keeps being accepted from memory (0: never); a revocation through Redis still removes it at once',
  }),
  SIGNING_KEY_REFRESH_SECONDS: Type.Integer({
    minimum: 1,
    // Key retirement gives every replica 60 s to notice a rotation (keyRefreshSeconds in
    // api/services/signing-keys.ts); a slower check could keep signing with a retired key.
    maximum: 60,
    default: 30,
    description: 'how often the OAuth/OIDC server checks signing_keys for added or retired keys (at most 60)',
  }),

  EGRESS_ALLOW_HTTP: Type.Boolean({
    default: false,
    description:
      'let requests whose URL a tenant sets (SSO issuers, their JWKS and token endpoints) use http:// (local development and tests only; production uses https)',
  }),
  EGRESS_ALLOW_HOSTS: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description:
      'comma-separated host names, addresses and CIDR networks that tenant-set URLs may reach although private (an on-premises identity provider), e.g. idp.corp.example,10.20.0.0/16',
  }),
  EGRESS_MAX_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 67_108_864,
    default: 1_048_576,
    description: 'largest answer read from a tenant-set URL (bigger answers are cut off and refused)',
  }),
  EGRESS_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 120_000,
    default: 10_000,
    description: 'how long one request to a tenant-set URL may take in all: DNS, connect, redirects, body',
  }),
  EGRESS_MAX_REDIRECTS: Type.Integer({
    minimum: 0,
    maximum: 10,
    default: 3,
    description: 'redirects a GET to a tenant-set URL may follow (each one checked like the first)',
  }),
  SSO_CLOCK_TOLERANCE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 300,
    default: 30,
    description: "clock skew allowed on exp and nbf of tokens from an org's identity provider",
  }),
  SSO_JWKS_COOLDOWN_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 30,
    description: "least time between two fetches of an identity provider's JWKS (on an unknown kid)",
  }),

  GATEWAY_BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    default: 8_388_608,
    description: 'largest inference request body (/v1) accepted, in bytes',
  }),
  GATEWAY_CONNECT_TIMEOUT_MS: Type.Integer({
    minimum: 1,
    default: 2_000,
    description: 'how long the gateway waits to connect to a model server before trying the next one',
  }),
  GATEWAY_FIRST_TOKEN_TIMEOUT_MS: Type.Integer({
    minimum: 1,
    default: 30_000,
    description: 'how long a stream may wait for its first token before the next model server is tried',
  }),
  GATEWAY_READ_TIMEOUT_MS: Type.Integer({
    minimum: 1,
    default: 300_000,
    description:
      'longest silence between two chunks of a stream, and the whole wait for a non-streamed answer',
  }),
  GATEWAY_MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 10,
    default: 3,
    description: 'model servers tried per model before the fallback model (retries happen before any byte)',
  }),
  GATEWAY_UPSTREAM_CONNECTIONS: Type.Integer({
    minimum: 1,
    default: 512,
    description: 'keep-alive connections the gateway opens at most to each model server',
  }),

  MAIL_DIR: Type.String({
    minLength: 1,
    default: '.data/mail',
    description: 'folder where the embedded mailer writes each message as .eml and .json',
  }),
  MAIL_FROM: Type.String({
    minLength: 3,
    default: 'Vlinders <no-reply@vlinders.localhost>',
    description: 'sender address of platform mail',
  }),

  OBJECT_STORE_DIR: Type.String({
    minLength: 1,
    default: '.data/objects',
    description: 'folder of the embedded object store, used when S3_BUCKET is unset',
  }),
  S3_BUCKET: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
      description: 'S3 bucket of the object store; unset means the embedded folder (OBJECT_STORE_DIR)',
    }),
  ),
  S3_ENDPOINT: Type.Optional(
    Type.String({ format: 'uri', description: "S3-compatible endpoint URL; unset means AWS's own" }),
  ),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'region of the S3 bucket' }),
  S3_ACCESS_KEY_ID: Type.Optional(
    Type.String({ minLength: 1, description: "S3 access key id; unset means the AWS SDK's default chain" }),
  ),
  S3_SECRET_ACCESS_KEY: Type.Optional(
    Type.String({ minLength: 1, description: 'S3 secret access key; set with S3_ACCESS_KEY_ID' }),
  ),
  S3_FORCE_PATH_STYLE: Type.Boolean({
    default: false,
    description: 'address the bucket in the path rather than the host name (most S3-compatible servers)',
  }),
  OBJECT_MAX_BYTES: Type.Integer({
    minimum: 1024,
    default: 268_435_456,
    description: 'largest object the platform writes or reads (objects are encrypted whole, in memory)',
  }),

  FILE_MAX_BYTES: Type.Integer({
    minimum: 1024,
    default: 33_554_432,
    description: 'largest file a tenant may upload to /v1/files (read whole into memory, then sealed)',
  }),
  VECTOR_EMBEDDING_MODEL: Type.String({
    minLength: 1,
    default: 'sim-embed',
    description:
      "embedding model of a vector store whose creator names none (a model in the platform's registry)",
  }),

  QDRANT_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^\\s]+$',
      description:
        'Qdrant server URL (http://host:6333); unset means the embedded vector store in VECTOR_DATA_DIR',
    }),
  ),
  QDRANT_API_KEY: Type.Optional(
    Type.String({ minLength: 1, description: 'API key of the Qdrant server (sent as api-key; use https)' }),
  ),
  VECTOR_DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^postgres(ql)?://[^\\s]+$',
      description:
        'PostgreSQL with pgvector holding the vector store, used when QDRANT_URL is unset (`up` serves one)',
    }),
  ),
  VECTOR_DATA_DIR: Type.String({
    minLength: 1,
    default: '.data/vectors',
    description:
      'folder of an in-process vector store (pgvector in PGlite, one process only), used when neither QDRANT_URL nor VECTOR_DATABASE_URL is set',
  }),

  STRIPE_SECRET_KEY: Type.Optional(
    Type.String({
      pattern: '^(sk|rk)_(test|live)_[A-Za-z0-9_]+$',
      description: 'Stripe secret (or restricted) key; billing calls fail without it',
    }),
  ),
  STRIPE_API_URL: Type.Optional(
    Type.String({
      pattern: '^https?://[^/\\s]+/?$',
      description: "Stripe API base URL (only to point at stripe-mock; unset means Stripe's own)",
    }),
  ),
  STRIPE_WEBHOOK_SECRET: Type.Optional(
    Type.String({
      pattern: '^whsec_[A-Za-z0-9]+$',
      description:
        'signing secret of the Stripe webhook endpoint; POST /webhooks/stripe answers 503 without it',
    }),
  ),
  STRIPE_WEBHOOK_TOLERANCE_SECONDS: Type.Integer({
    minimum: 10,
    maximum: 3_600,
    default: 300,
    description: 'a Stripe webhook whose signed timestamp is further than this from now is refused (replays)',
  }),
  BILLING_WATERMARK_MINUTES: Type.Integer({
    minimum: 1,
    maximum: 59,
    default: 15,
    description:
      'minutes after an hour ends before its billing run starts (usage arriving later goes into the next window)',
  }),
  BILLING_RUN_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 8,
    description: 'tenants a billing run reports at once',
  }),

  GPU_COST_PER_HOUR: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Number({ minimum: 0 }), {
      description:
        'JSON object: the price of one GPU for one hour per pool (GPU type, as deployments name it), e.g. {"H100":2.49,"L4":0.8}; unset means no pool is priced',
    }),
  ),
  GPU_COST_CURRENCY: Type.String({
    pattern: '^[A-Z]{3}$',
    default: 'USD',
    description: 'ISO 4217 code of the currency GPU_COST_PER_HOUR is in',
  }),

  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
    Type.String({ format: 'uri', description: 'OTLP/HTTP endpoint for traces; unset means no export' }),
  ),
  OTEL_SERVICE_NAME: Type.Optional(
    Type.String({ description: 'service name on traces and metrics (defaults per process)' }),
  ),
  WORKER_METRICS_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 9464,
    description: "port of the workers' Prometheus /metrics",
  }),
});

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const booleans = new Set(['TEMPORAL_TLS', 'EGRESS_ALLOW_HTTP', 'S3_FORCE_PATH_STYLE']);
const lists = new Set(['CORS_ORIGINS', 'EGRESS_ALLOW_HOSTS']);
const jsonObjects = new Set(['GPU_COST_PER_HOUR']);

/** Parses an environment (process.env by default). Throws ConfigError listing every bad key. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    if (jsonObjects.has(key)) {
      try {
        raw[key] = JSON.parse(value);
      } catch (err) {
        problems.push(`${key}: is not JSON (${(err as Error).message})`);
      }
      continue;
    }
    raw[key] = booleans.has(key)
      ? value === 'true' || value === '1'
      : lists.has(key)
        ? value
            .split(',')
            .map((item) => item.trim())
            .filter(Boolean)
        : value;
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw));
  for (const e of Value.Errors(ConfigSchema, converted)) {
    const missing = (e.params as { requiredProperties?: string[] }).requiredProperties?.[0];
    // A bad entry of an object names its path: GPU_COST_PER_HOUR/H100.
    const path = missing ?? e.instancePath.replace(/^\//, '');
    const key = path.split('/')[0]!;
    const expects =
      (ConfigSchema.properties as Record<string, { description?: string }>)[key]?.description ?? '';
    problems.push(`${path}: ${missing ? 'is required' : e.message}${expects ? ` (expects ${expects})` : ''}`);
  }
  const { TLS_CERT_PATH, TLS_KEY_PATH } = converted as Partial<Config>;
  const tlsPaths = [TLS_CERT_PATH, TLS_KEY_PATH].filter(Boolean).length;
  if (tlsPaths === 1) problems.push('TLS_CERT_PATH, TLS_KEY_PATH: set both or neither');
  const { S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } = converted as Partial<Config>;
  if (Boolean(S3_ACCESS_KEY_ID) !== Boolean(S3_SECRET_ACCESS_KEY))
    problems.push('S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither');
  try {
    parseAllowList((converted as Partial<Config>).EGRESS_ALLOW_HOSTS ?? []);
  } catch (err) {
    problems.push(`EGRESS_ALLOW_HOSTS: ${(err as Error).message}`);
  }
  const { MASTER_KEYS_PREVIOUS, MASTER_KEY_ID } = converted as Partial<Config>;
  try {
    parsePreviousMasterKeys(MASTER_KEYS_PREVIOUS ?? '', MASTER_KEY_ID ?? '');
  } catch (err) {
    problems.push(`MASTER_KEYS_PREVIOUS: ${(err as Error).message}`);
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return converted as Config;
}

/** For entry points: parse or print one line per problem and exit non-zero. */
export function loadConfigOrExit(): Config {
  try {
    return parseConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
