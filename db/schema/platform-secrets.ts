// Secrets of the platform itself (not of a tenant), wrapped by the master key with their name as
// context; created once on first start and never changed, so a master-key rotation keeps them.
import { pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';

export const platformSecrets = pgTable('platform_secrets', {
  name: text('name').primaryKey(),
  wrappedValue: text('wrapped_value').notNull(),
  createdAt: createdAt(),
});
