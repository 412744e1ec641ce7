// The keys the gateway sends to deployments' upstreams (db/schema/deployment-credentials.ts), opened
// with the master key when the registry loads and held in memory only by the registry's snapshot;
// never logged, never part of a route object (routes are compared and may be logged).
import type { Tx } from '../../db/client.js';
import { deploymentCredentials } from '../../db/schema/index.js';
import { unwrap, wrap, type MasterKey } from '../../runtime/envelope.js';

/** A deployment's upstream keys: `current` is sent; `previous` is tried once on a 401 until `previousUntilMs`. */
export interface UpstreamKeys {
  /** `Bearer <current key>`, ready for the Authorization header. */
  current: string;
  previous: { authorization: string; untilMs: number } | null;
}

/** The associated data of a deployment's wrapped key: a value copied to another deployment does not open. */
const context = (deploymentId: string) => `deployment-upstream-key:${deploymentId}`;

export function wrapUpstreamKey(master: MasterKey, deploymentId: string, key: string): string {
  return wrap(master, Buffer.from(key, 'utf8'), context(deploymentId));
}

export function unwrapUpstreamKey(master: MasterKey, deploymentId: string, wrapped: string): string {
  return unwrap(master, wrapped, context(deploymentId)).toString('utf8');
}

/** Every deployment's keys, opened; a previous key whose grace period is over is left out. */
export async function loadUpstreamKeys(tx: Tx, master: MasterKey): Promise<Map<string, UpstreamKeys>> {
  const rows = await tx.select().from(deploymentCredentials);
  const now = Date.now();
  const keys = new Map<string, UpstreamKeys>();
  for (const row of rows.filter((r) => r.slot === 'current'))
    keys.set(row.deploymentId, {
      current: `Bearer ${unwrapUpstreamKey(master, row.deploymentId, row.wrappedKey)}`,
      previous: null,
    });
  for (const row of rows) {
    const untilMs = row.graceUntil?.getTime() ?? 0;
    const entry = keys.get(row.deploymentId);
    if (row.slot !== 'previous' || !entry || untilMs <= now) continue;
    entry.previous = {
      authorization: `Bearer ${unwrapUpstreamKey(master, row.deploymentId, row.wrappedKey)}`,
      untilMs,
    };
  }
  return keys;
}
