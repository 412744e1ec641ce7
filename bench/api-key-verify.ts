// Cost of verifying an API key in the API process (the hot path's first step), in µs per
// verification: with a warm in-memory cache (parse + HMAC-SHA-256 + constant-time compare + checks,
// the IP allow-list asked of the policy), the same plus the gateway's policy decision
// (`authorizeKey(key, 'invoke', { model, ip })`), and with the cache disabled (plus, in one
// transaction under RLS, the prefix lookup and the creator's current role, and building the key's
// policy ability).
// It seeds a user, an org and a key, so point it at a scratch database:
//   npx tsx bench/api-key-verify.ts --database-url postgres://… [--app-role vlinders_app]
//     [--migrate] [--warm 200000] [--cold 5000]
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ApiKeyVerifier } from '../api/identity/api-keys/verifier.js';
import { createApiKey } from '../api/identity/api-keys/keys.js';
import { abilityFor, authorizeKey } from '../core/policy.js';
import { createDb, createPool } from '../db/client.js';
import { migrateDatabase } from '../db/migrate.js';
import { memberships, organizations, users } from '../db/schema/index.js';
import { withTenant } from '../db/tenant.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    'app-role': { type: 'string' },
    migrate: { type: 'boolean', default: false },
    warm: { type: 'string', default: '200000' },
    cold: { type: 'string', default: '5000' },
  },
});
const url = values['database-url'];
if (!url) {
  process.stderr.write('usage: npx tsx bench/api-key-verify.ts --database-url postgres://… [--app-role r]\n');
  process.exit(2);
}
if (values.migrate) await migrateDatabase(url);

const pool = createPool({ url, size: 4, appRole: values['app-role'], applicationName: 'vlinders-bench' });
const db = createDb(pool);
const env = 'live';
// The production pepper is a random 32-byte platform secret; the bench needs no stored one.
const pepper = randomBytes(32);

const userId = randomUUID();
const orgId = randomUUID();
await db.insert(users).values({
  id: userId,
  email: `bench-${userId}@example.test`,
  passwordHash: 'x',
  displayName: 'bench',
});
await withTenant(db, orgId, async (tx) => {
  await tx
    .insert(organizations)
    .values({ id: orgId, name: 'Bench', slug: `bench-${orgId}`, createdBy: userId });
  await tx.insert(memberships).values({ orgId, userId, role: 'owner' });
});
const issuer = { pepper, env, invalidate: async () => undefined };
const actor = {
  userId,
  ip: null,
  ability: abilityFor({ kind: 'member', userId, orgId, role: 'owner', teamIds: [] }),
};
const { key } = await createApiKey(db, issuer, actor, orgId, {
  name: 'bench',
  scopes: ['inference'],
  allowedIps: ['10.0.0.0/8', '127.0.0.0/8'],
});

interface Row {
  case: string;
  verifications: number;
  'mean µs': number;
  'p50 µs': number;
  'p99 µs': number;
}

async function measure(
  name: string,
  verifier: ApiKeyVerifier,
  n: number,
  sampleEvery: number,
  authorize = false,
): Promise<Row> {
  for (let i = 0; i < Math.min(1000, n); i++) await verifier.verify(key, '127.0.0.1'); // warm-up (JIT, pool)
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = i % sampleEvery === 0 ? performance.now() : 0;
    const verified = await verifier.verify(key, '127.0.0.1');
    if (!verified) throw new Error('the benchmark key did not verify');
    if (authorize && !authorizeKey(verified, 'invoke', { model: 'bench-model', ip: '127.0.0.1' }))
      throw new Error('the benchmark key may not invoke');
    if (t0) samples.push(performance.now() - t0);
  }
  const total = performance.now() - start;
  samples.sort((a, b) => a - b);
  const at = (q: number) => Math.round((samples[Math.floor(q * (samples.length - 1))] ?? 0) * 1000 * 10) / 10;
  return {
    case: name,
    verifications: n,
    'mean µs': Math.round((total / n) * 1000 * 10) / 10,
    'p50 µs': at(0.5),
    'p99 µs': at(0.99),
  };
}

const warm = new ApiKeyVerifier({ db, pepper, env });
const cold = new ApiKeyVerifier({ db, pepper, env, cacheTtlMs: 0 });
const results = [
  await measure('warm cache (in-memory, TTL 5 s)', warm, Number(values.warm), 10),
  await measure('warm cache + authorizeKey(invoke)', warm, Number(values.warm), 10, true),
  await measure('cache disabled (Postgres lookup per verification)', cold, Number(values.cold), 1),
];
await Promise.all([warm.close(), cold.close()]);
await pool.end();
console.table(results);
