// A sign-in through an org's identity provider that was started from the authorization server's
// login page ends on the platform's SSO callback, which cannot read the interaction's cookie (it is
// scoped to /oidc/interaction/<uid>). The callback therefore hands the browser back to the
// interaction with a ticket: a random secret whose hash is kept server-side with the interaction's
// uid and the signed-in user, taken once (a delete that only one request can win), for two minutes.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../../db/client.js';
import { ssoInteractionTickets } from '../../../db/schema/index.js';
import { AppError } from '../../errors.js';
import { hashSecret, newSecret } from '../opaque-secrets.js';

const ticketTtlMs = 2 * 60 * 1000;

/** Records a ticket for the user and interaction, in the org's scope (the provisioning's transaction). */
export async function createInteractionTicket(
  tx: Tx,
  ticket: { orgId: string; interactionUid: string; userId: string },
): Promise<string> {
  // Tickets never taken are swept here, in the org's own scope.
  await tx
    .delete(ssoInteractionTickets)
    .where(
      and(eq(ssoInteractionTickets.orgId, ticket.orgId), lt(ssoInteractionTickets.expiresAt, new Date())),
    );
  const secret = newSecret();
  await tx.insert(ssoInteractionTickets).values({
    ...ticket,
    ticketHash: hashSecret(secret),
    expiresAt: new Date(Date.now() + ticketTtlMs),
  });
  return secret;
}

/**
 * Takes the ticket out of the table and answers its user, if it was made for this interaction and
 * has not expired. Whatever the outcome, the ticket is gone: a second try finds nothing.
 */
export async function takeInteractionTicket(db: Db, secret: string, interactionUid: string): Promise<string> {
  const ticketHash = hashSecret(secret);
  const ticket = await db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.sso_ticket_hash', ${ticketHash}, true)`);
    const [found] = await tx
      .select({ orgId: ssoInteractionTickets.orgId })
      .from(ssoInteractionTickets)
      .where(eq(ssoInteractionTickets.ticketHash, ticketHash));
    if (!found) return undefined;
    await tx.execute(sql`SELECT set_config('app.org_id', ${found.orgId}, true)`);
    const [deleted] = await tx
      .delete(ssoInteractionTickets)
      .where(eq(ssoInteractionTickets.ticketHash, ticketHash))
      .returning();
    return deleted;
  });
  if (!ticket || ticket.interactionUid !== interactionUid || ticket.expiresAt.getTime() <= Date.now())
    throw new AppError(
      'VALIDATION',
      'The single sign-on ticket is unknown, expired or already used; sign in again.',
    );
  return ticket.userId;
}
