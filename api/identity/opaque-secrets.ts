// Opaque bearer secrets (refresh tokens, invitation tokens): random, shown once, stored only as a
// SHA-256 hash. They carry 256 bits of entropy, so a fast hash suffices (no password stretching).
import { createHash, randomBytes } from 'node:crypto';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
