// Every activity the workers register, built from the clients they need. Workflows import the
// type only, so activity code never enters the workflow bundle.
import type { Db } from '../db/client.js';
import type { Mailer } from './mail/mailer.js';
import { createMailActivities } from './outbox.js';
import { createTenantActivities } from './tenant.js';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  /** Sender address of platform mail. */
  mailFrom: string;
}

export function createActivities({ db, mailer, mailFrom }: ActivityDeps) {
  return {
    ...createTenantActivities({ db }),
    ...createMailActivities({ db, mailer, from: mailFrom }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
