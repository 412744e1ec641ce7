// Every activity the workers register, built from the clients they need. Workflows import the
// type only, so activity code never enters the workflow bundle.
import type { Db } from '../db/client.js';
import type { Stripe } from '../runtime/stripe.js';
import { createBillingAccountActivities } from './billing-account.js';
import type { Mailer } from './mail/mailer.js';
import { createMailActivities } from './outbox.js';
import { createStripeActivities } from './stripe/index.js';
import { createTenantActivities } from './tenant.js';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
  /** Sender address of platform mail. */
  mailFrom: string;
  /** The Stripe client; undefined when billing is not configured (no STRIPE_SECRET_KEY). */
  stripe: Stripe | undefined;
}

export function createActivities({ db, mailer, mailFrom, stripe }: ActivityDeps) {
  return {
    ...createTenantActivities({ db }),
    ...createMailActivities({ db, mailer, from: mailFrom }),
    ...createBillingAccountActivities({ db }),
    ...createStripeActivities({ stripe }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
