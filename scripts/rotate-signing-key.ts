// npm run keys:rotate
// Rotates the token signing key: the new key is published in the JWKS now and signs after
// SIGNING_KEY_PUBLISH_SECONDS; the previous keys are retired once their tokens have expired.
// Connects as the app (DATABASE_URL); audited as a platform event without a user. Prints the new
// kid and its activation time; exit 0, or 1 on failure.
import { fileURLToPath } from 'node:url';
import { rotateSigningKey, signingKeyTimings } from '../api/identity/signing-keys/signing-keys.js';
import { createDb, createPool } from '../db/client.js';
import type { Config } from '../runtime/config.js';
import { masterKeyFromConfig } from '../runtime/envelope.js';

/** Rotates; answers the command's output line. */
export async function runRotate(config: Config): Promise<string> {
  const pool = createPool({
    url: config.DATABASE_URL,
    size: 1,
    appRole: config.DATABASE_APP_ROLE,
    applicationName: 'vlinders-keys-rotate',
  });
  try {
    const key = await rotateSigningKey(
      createDb(pool),
      masterKeyFromConfig(config),
      signingKeyTimings(config),
      {
        userId: null,
        ip: null,
      },
    );
    return `new signing key ${key.kid} published; it signs from ${key.activatesAt.toISOString()}`;
  } finally {
    await pool.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { loadConfigOrExit } = await import('../runtime/config.js');
  try {
    process.stdout.write(`${await runRotate(loadConfigOrExit())}\n`);
  } catch (err) {
    process.stderr.write(`rotation failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
