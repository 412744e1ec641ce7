// Platform secrets (the API-key pepper, the Temporal platform payload key): random values created
// on first start and stored wrapped by the master key, so they survive a master-key rotation. Two
// replicas starting together race on the insert; the loser's insert does nothing and both read the
// winner's value.
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { platformSecrets } from '../db/schema/index.js';
import { unwrap, wrap, type MasterKey } from './envelope.js';

/** The secret called `name`, created from `initial()` if it does not exist yet. */
export async function loadOrCreatePlatformSecret(
  db: Db,
  master: MasterKey,
  name: string,
  initial: () => Buffer,
): Promise<Buffer> {
  const load = async () => {
    const [row] = await db.select().from(platformSecrets).where(eq(platformSecrets.name, name));
    return row && unwrap(master, row.wrappedValue, name);
  };
  const existing = await load();
  if (existing) return existing;
  await db
    .insert(platformSecrets)
    .values({ name, wrappedValue: wrap(master, initial(), name) })
    .onConflictDoNothing({ target: platformSecrets.name });
  const created = await load();
  if (!created) throw new Error(`platform secret ${name} could not be created`);
  return created;
}
