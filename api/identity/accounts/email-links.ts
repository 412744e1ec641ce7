// Links mailed to a user's address: confirm it after sign-up, or reset the password. A link carries
// a random token stored only as a SHA-256 hash, used once and short-lived. The mail is recorded in
// the outbox (account mail: no org) by the transaction that decides it, and delivered after commit
// without the answer waiting for it, so a request's answer and timing do not depend on the mail.
import { and, asc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { MailPayload } from '../../../activities/outbox.js';
import type { Mailer } from '../../../activities/mail/mailer.js';
import type { Db, Tx } from '../../../db/client.js';
import { emailTokens, outbox, type EmailTokenPurpose } from '../../../db/schema/index.js';
import { hashSecret, newSecret } from '../opaque-secrets.js';

export interface EmailLinkSettings {
  verificationTtlHours: number;
  resetTtlMinutes: number;
  /** Where the links in the mail point (PUBLIC_URL). */
  publicUrl: string;
}

interface IssuedLink {
  tokenId: string;
  url: string;
  expiresAt: Date;
}

const pages: Record<EmailTokenPurpose, string> = {
  verify_email: '/console/verify-email',
  reset_password: '/console/reset-password',
};

/** A new single-use token for the user, answered as the link that carries it. */
export async function issueEmailLink(
  tx: Tx,
  userId: string,
  purpose: EmailTokenPurpose,
  settings: EmailLinkSettings,
): Promise<IssuedLink> {
  const token = newSecret();
  const ttlMs =
    purpose === 'verify_email'
      ? settings.verificationTtlHours * 3_600_000
      : settings.resetTtlMinutes * 60_000;
  const expiresAt = new Date(Date.now() + ttlMs);
  const [row] = await tx
    .insert(emailTokens)
    .values({ userId, purpose, tokenHash: hashSecret(token), expiresAt })
    .returning({ id: emailTokens.id });
  if (!row) throw new Error('insert returned no row');
  const url = new URL(`${pages[purpose]}?token=${token}`, settings.publicUrl).toString();
  return { tokenId: row.id, url, expiresAt };
}

/**
 * Spends a token of this purpose: answers its user, or null when the token is unknown, of another
 * purpose, used or expired. Each token works once, even under concurrent use (row lock).
 */
export async function consumeEmailToken(
  tx: Tx,
  token: string,
  purpose: EmailTokenPurpose,
): Promise<string | null> {
  const [row] = await tx
    .select()
    .from(emailTokens)
    .where(and(eq(emailTokens.tokenHash, hashSecret(token)), eq(emailTokens.purpose, purpose)))
    .for('update');
  if (!row || row.usedAt || row.expiresAt.getTime() <= Date.now()) return null;
  await tx.update(emailTokens).set({ usedAt: new Date() }).where(eq(emailTokens.id, row.id));
  return row.userId;
}

/** Ends every link of the user not used yet (after a reset, older reset links must not work). */
export async function spendUserLinks(tx: Tx, userId: string): Promise<void> {
  await tx
    .update(emailTokens)
    .set({ usedAt: new Date() })
    .where(and(eq(emailTokens.userId, userId), isNull(emailTokens.usedAt)));
}

const signature = ['', '— Vlinders'];

export function verificationMail(to: string, link: IssuedLink): MailPayload {
  return {
    template: 'verify_email',
    to,
    url: link.url,
    subject: 'Confirm your email address for Vlinders',
    text: [
      'Hello,',
      '',
      'Confirm that this address is yours to finish signing up for Vlinders:',
      link.url,
      '',
      `The link works once, until ${link.expiresAt.toUTCString()}.`,
      'If you did not sign up, ignore this mail: no account is usable without this link.',
      ...signature,
    ].join('\n'),
  };
}

/** To the owner of an address someone signed up with again: the same answer, a different mail. */
export function signUpExistingMail(to: string, link: IssuedLink): MailPayload {
  return {
    template: 'sign_up_existing',
    to,
    url: link.url,
    subject: 'Someone tried to sign up for Vlinders with your address',
    text: [
      'Hello,',
      '',
      'Someone asked to sign up for Vlinders with this address, which already has an account.',
      'If that was you, sign in with your password, or choose a new one here:',
      link.url,
      '',
      `The link works once, until ${link.expiresAt.toUTCString()}. Choosing a new password also`,
      'confirms this address and signs out every session of the account.',
      'If it was not you, ignore this mail: nothing changed.',
      ...signature,
    ].join('\n'),
  };
}

export function passwordResetMail(to: string, link: IssuedLink): MailPayload {
  return {
    template: 'password_reset',
    to,
    url: link.url,
    subject: 'Reset your Vlinders password',
    text: [
      'Hello,',
      '',
      'Someone asked to reset the password of the Vlinders account of this address. Choose a new one here:',
      link.url,
      '',
      `The link works once, until ${link.expiresAt.toUTCString()}. Choosing a new password signs out`,
      'every session of the account.',
      'If it was not you, ignore this mail: your password stays as it is.',
      ...signature,
    ].join('\n'),
  };
}

/** Records account mail (no org) once per token; answers the outbox row to deliver after commit. */
export async function enqueueAccountMail(tx: Tx, tokenId: string, payload: MailPayload): Promise<string> {
  const [row] = await tx
    .insert(outbox)
    .values({ orgId: null, kind: 'mail', payload, idempotencyKey: `account-mail/${tokenId}` })
    .returning({ id: outbox.id });
  if (!row) throw new Error('insert returned no row');
  return row.id;
}

/** An unsent account mail this old is the sweep's: the request that wrote it had its chance. */
const sweepAfterSeconds = 60;
/** Older than this its link has expired (a reset link lives 30 minutes by default, a verification link 48 hours). */
const sweepWithinHours = 48;
const sweepBatch = 50;
/** One sweeper at a time across replicas: a transaction-scoped advisory lock on this key. */
const sweepLockKey = 7_246_001;

/**
 * Delivers account mail after its transaction committed, off the request's path. What that misses
 * — a failed delivery, or a replica that died between commit and delivery — stays unsent in the
 * outbox, and `sweepUnsent` (every minute, on one replica at a time) delivers it; the mailer takes a
 * message delivered twice, under its row's id, as one.
 */
export class AccountMailer {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly mailer: Mailer,
    private readonly from: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  deliverSoon(outboxId: string): void {
    const delivery = this.deliver(outboxId)
      .catch((err: unknown) => this.log.error({ err, outboxId }, 'could not deliver an account mail'))
      .finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  /** Waits for the deliveries under way (on close). */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
  }

  /** Delivers unsent account mail older than a minute (and younger than its link); answers how many went out. */
  async sweepUnsent(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const locked = await tx.execute<{ locked: boolean }>(
        sql`SELECT pg_try_advisory_xact_lock(${sweepLockKey}) AS locked`,
      );
      if (!locked.rows[0]?.locked) return 0;
      const rows = await tx
        .select({ id: outbox.id })
        .from(outbox)
        .where(
          and(
            isNull(outbox.orgId),
            isNull(outbox.sentAt),
            lt(outbox.createdAt, sql`now() - make_interval(secs => ${sweepAfterSeconds})`),
            gt(outbox.createdAt, sql`now() - make_interval(hours => ${sweepWithinHours})`),
          ),
        )
        .orderBy(asc(outbox.createdAt))
        .limit(sweepBatch);
      let delivered = 0;
      for (const row of rows) {
        try {
          await this.deliver(row.id);
          delivered += 1;
        } catch (err) {
          this.log.error({ err, outboxId: row.id }, 'could not deliver an account mail');
        }
      }
      return delivered;
    });
  }

  private async deliver(outboxId: string): Promise<void> {
    const [row] = await this.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.id, outboxId), isNull(outbox.orgId), isNull(outbox.sentAt)));
    if (!row) return;
    const payload = row.payload as MailPayload;
    await this.mailer.send({
      id: row.id,
      from: this.from,
      to: payload.to,
      subject: payload.subject,
      text: payload.text,
    });
    await this.db
      .update(outbox)
      .set({ sentAt: new Date() })
      .where(and(eq(outbox.id, outboxId), isNull(outbox.sentAt)));
  }
}
