// Activities on the mail outbox: a message is first recorded (once, by idempotency key), then
// delivered through the mailer and marked sent. A crash between the two redelivers the same
// message id, which the mailer treats as one message.
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { memberships, outbox, users } from '../db/schema/index.js';
import { withTenant } from '../db/tenant.js';
import type { Mailer } from './mail/mailer.js';

export interface MailPayload extends Record<string, unknown> {
  template: string;
  to: string;
  subject: string;
  text: string;
}

export interface WelcomeMailInput {
  orgId: string;
  /** Workflow id + step: a retried enqueue finds the row it wrote before. */
  idempotencyKey: string;
  to: string;
  orgName: string;
}

/** A mail to the org's owners (billing notices): the text is written by the caller. */
export interface OwnerMailInput {
  orgId: string;
  /** Workflow id + step: a retried enqueue finds the row it wrote before. */
  idempotencyKey: string;
  template: string;
  subject: string;
  text: string;
}

export interface OutboxRef {
  orgId: string;
  outboxId: string;
}

export function welcomeMail(to: string, orgName: string): MailPayload {
  return {
    template: 'welcome',
    to,
    subject: `Welcome to Vlinders: ${orgName} is ready`,
    text: [
      'Hello,',
      '',
      `Your organization "${orgName}" is set up on Vlinders and you are its owner.`,
      'You can now invite your team, create API keys and start sending requests.',
      '',
      '— Vlinders',
    ].join('\n'),
  };
}

/** Records a message once per idempotency key; a retry returns the row written before. */
export async function enqueue(
  tx: Tx,
  orgId: string,
  idempotencyKey: string,
  payload: MailPayload,
): Promise<OutboxRef> {
  await tx
    .insert(outbox)
    .values({ orgId, kind: 'mail', payload, idempotencyKey })
    .onConflictDoNothing({ target: outbox.idempotencyKey });
  const [row] = await tx
    .select({ id: outbox.id })
    .from(outbox)
    .where(eq(outbox.idempotencyKey, idempotencyKey));
  if (!row) {
    // The key exists but RLS hides it: it belongs to another tenant. Retrying cannot help.
    throw ApplicationFailure.create({
      type: 'CONFLICT',
      nonRetryable: true,
      message: `outbox key ${idempotencyKey} is taken`,
    });
  }
  return { orgId, outboxId: row.id };
}

export function createMailActivities({ db, mailer, from }: { db: Db; mailer: Mailer; from: string }) {
  return {
    async enqueueWelcomeMail({ orgId, idempotencyKey, to, orgName }: WelcomeMailInput): Promise<OutboxRef> {
      return withTenant(db, orgId, (tx) => enqueue(tx, orgId, idempotencyKey, welcomeMail(to, orgName)));
    },

    /** Records a mail to every owner of the org (one message, all owners as recipients). */
    async enqueueOwnerMail({
      orgId,
      idempotencyKey,
      template,
      subject,
      text,
    }: OwnerMailInput): Promise<OutboxRef> {
      return withTenant(db, orgId, async (tx) => {
        const owners = await tx
          .select({ email: users.email })
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(and(eq(memberships.orgId, orgId), eq(memberships.role, 'owner')))
          .orderBy(users.email);
        if (owners.length === 0)
          throw ApplicationFailure.create({
            type: 'NOT_FOUND',
            nonRetryable: true,
            message: `organization ${orgId} has no owner to write to`,
          });
        const to = owners.map((o) => o.email).join(', ');
        return enqueue(tx, orgId, idempotencyKey, { template, to, subject, text });
      });
    },

    /** Sends an outbox message unless it was sent already, then marks it sent. */
    async deliverMail({ orgId, outboxId }: OutboxRef): Promise<OutboxRef & { alreadySent: boolean }> {
      const [row] = await withTenant(db, orgId, (tx) =>
        tx
          .select()
          .from(outbox)
          .where(and(eq(outbox.id, outboxId), eq(outbox.orgId, orgId))),
      );
      if (!row)
        throw ApplicationFailure.create({
          type: 'NOT_FOUND',
          nonRetryable: true,
          message: `outbox row ${outboxId} does not exist`,
        });
      if (row.sentAt) return { orgId, outboxId, alreadySent: true };
      const payload = row.payload as MailPayload;
      await mailer.send({ id: row.id, from, to: payload.to, subject: payload.subject, text: payload.text });
      await withTenant(db, orgId, (tx) =>
        tx
          .update(outbox)
          .set({ sentAt: new Date() })
          .where(and(eq(outbox.id, outboxId), isNull(outbox.sentAt))),
      );
      return { orgId, outboxId, alreadySent: false };
    },

    /** Compensation: withdraws a message that was recorded but never sent. */
    async cancelUnsentMail({
      orgId,
      idempotencyKey,
    }: {
      orgId: string;
      idempotencyKey: string;
    }): Promise<{ orgId: string }> {
      await withTenant(db, orgId, (tx) =>
        tx.delete(outbox).where(and(eq(outbox.idempotencyKey, idempotencyKey), isNull(outbox.sentAt))),
      );
      return { orgId };
    },
  };
}
