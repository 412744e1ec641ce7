// Upstream credentials of deployments (db/migrations/0016_deployment_credentials.sql): the key the
// gateway sends to a deployment's upstream, wrapped by the master key, never answered by the API.
import { pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns.js';
import { modelDeployments } from './models.js';

/** 'current' is sent; 'previous' is tried once on the upstream's 401, until its grace period ends. */
export type CredentialSlot = 'current' | 'previous';

export const deploymentCredentials = pgTable(
  'deployment_credentials',
  {
    id: id(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => modelDeployments.id, { onDelete: 'cascade' }),
    slot: text('slot').$type<CredentialSlot>().notNull(),
    /** runtime/envelope.ts wrap(), context `deployment-upstream-key:<deployment id>`. */
    wrappedKey: text('wrapped_key').notNull(),
    lastFour: text('last_four').notNull(),
    createdAt: createdAt(),
    /** Until when a previous key is still tried; null on the current key. */
    graceUntil: timestamptz('grace_until'),
  },
  (t) => [unique('deployment_credentials_slot_key').on(t.deploymentId, t.slot)],
);
