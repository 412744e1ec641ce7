// Refresh tokens: opaque secrets stored as SHA-256 hashes, grouped in families (one per login).
// Each use rotates the token; presenting a token that was already used means it leaked, so the
// whole family is revoked and every holder must sign in again.
import { and, eq, isNull } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../../../db/client.js';
import { refreshTokens } from '../../../db/schema/index.js';
import { AppError } from '../../errors.js';
import { recordAudit, type Actor } from '../../audit.js';
import { hashSecret, newSecret } from '../opaque-secrets.js';

/** Starts a new family (a sign-in) and answers its first token. */
export async function issueRefreshToken(
  tx: Tx,
  userId: string,
  ttlSeconds: number,
  familyId: string = randomUUID(),
): Promise<string> {
  const secret = newSecret();
  await tx.insert(refreshTokens).values({
    userId,
    familyId,
    tokenHash: hashSecret(secret),
    expiresAt: new Date(Date.now() + ttlSeconds * 1000),
  });
  return secret;
}

async function revokeFamily(tx: Tx, familyId: string): Promise<void> {
  await tx
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

type RotateOutcome =
  | { ok: true; userId: string; refreshToken: string }
  | { ok: false; reuse?: { userId: string; familyId: string } };

/** A spent refresh token was presented again (its family is now revoked); answers INVALID_TOKEN. */
export class RefreshTokenReusedError extends AppError {
  constructor(readonly reuse: { userId: string; familyId: string }) {
    super('INVALID_TOKEN');
  }
}

/** Exchanges a refresh token for its successor; reuse of a spent token revokes the family. */
export async function rotateRefreshToken(
  db: Db,
  secret: string,
  ttlSeconds: number,
  ip: string | null,
): Promise<{ userId: string; refreshToken: string }> {
  const outcome = await db.transaction(async (tx): Promise<RotateOutcome> => {
    const [row] = await tx
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(secret)))
      .for('update');
    if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now()) return { ok: false };
    if (row.usedAt) {
      await revokeFamily(tx, row.familyId);
      await recordAudit(
        tx,
        { userId: row.userId, ip },
        {
          orgId: null,
          action: 'auth.refresh_reuse_detected',
          targetType: 'refresh_token_family',
          targetId: row.familyId,
        },
      );
      return { ok: false, reuse: { userId: row.userId, familyId: row.familyId } };
    }
    await tx.update(refreshTokens).set({ usedAt: new Date() }).where(eq(refreshTokens.id, row.id));
    const refreshToken = await issueRefreshToken(tx, row.userId, ttlSeconds, row.familyId);
    return { ok: true, userId: row.userId, refreshToken };
  });
  if (!outcome.ok)
    throw outcome.reuse ? new RefreshTokenReusedError(outcome.reuse) : new AppError('INVALID_TOKEN');
  return { userId: outcome.userId, refreshToken: outcome.refreshToken };
}

/** Ends the sign-in the token belongs to. Unknown tokens are ignored: logging out twice is fine. */
export async function revokeRefreshToken(db: Db, secret: string, ip: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashSecret(secret)))
      .for('update');
    if (!row || row.revokedAt) return;
    await revokeFamily(tx, row.familyId);
    const actor: Actor = { userId: row.userId, ip };
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'auth.logout',
      targetType: 'refresh_token_family',
      targetId: row.familyId,
    });
  });
}
