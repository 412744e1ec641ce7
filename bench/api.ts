// Benchmarks a running API (start it with `bash scripts/up.sh`): liveness, an authenticated read
// (JWT verification only) and an authenticated tenant read (JWT + RLS-scoped Postgres query).
//   npx tsx bench/api.ts [--url http://localhost:3000] [--connections 32] [--seconds 10]
//     [--mail-dir .data/mail]   (where the API writes mail: the sign-up's verification link)
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { signUpVerified } from '../scripts/verified-sign-up.js';
import { runLoad, type LoadResult } from './load.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3000' },
    connections: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '10' },
    'mail-dir': { type: 'string', default: '.data/mail' },
  },
});
const origin = values.url;
const connections = Number(values.connections);
const seconds = Number(values.seconds);

async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function waitUntilActive(orgId: string, token: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${origin}/api/orgs/${orgId}`, { headers: { authorization: `Bearer ${token}` } });
    if (((await res.json()) as { status: string }).status === 'active') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the benchmark org never became active: are the workers running?');
}

const { accessToken } = await signUpVerified(origin, values['mail-dir'], {
  email: `bench-${randomUUID()}@example.test`,
  password: 'benchmark password 1',
});
const { orgId } = await post<{ orgId: string }>('/api/orgs', { name: 'Bench Org' }, accessToken);
await waitUntilActive(orgId, accessToken);
const auth = { authorization: `Bearer ${accessToken}` };

const results: LoadResult[] = [];
for (const [name, path, headers] of [
  ['GET /healthz', '/healthz', {}],
  ['GET /api/me (JWT)', '/api/me', auth],
  ['GET /api/orgs/:orgId/teams (JWT + RLS query)', `/api/orgs/${orgId}/teams`, auth],
] as const) {
  results.push(await runLoad({ name, origin, path, headers, connections, seconds }));
}
console.table(results);
