// Password hashing with argon2id (OWASP's recommended parameters). Verifying against a fixed dummy
// hash when the user does not exist keeps login's work constant, so timing does not reveal emails.
import { hash, verify, type Options } from '@node-rs/argon2';

// Algorithm is an ambient const enum (not importable as a value under verbatimModuleSyntax): 2 is Argon2id.
const argon2id = 2 satisfies Options['algorithm'];
const options: Options = { algorithm: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const passwordLimits = { minLength: 12, maxLength: 256 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

let dummyHash: Promise<string> | undefined;

/** Computes the dummy hash ahead of the first login, so even that one costs the same for unknown emails. */
export function preparePasswordVerification(): Promise<string> {
  dummyHash ??= hashPassword('dummy-password-for-constant-work');
  return dummyHash;
}

/**
 * Verifies a password; with no stored hash it does the same work and answers false. A stored value
 * that is no hash (an erased account's) answers false too.
 */
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  if (stored === undefined) {
    await verify(await preparePasswordVerification(), password);
    return false;
  }
  return verify(stored, password).catch(() => false);
}
