// A read of what authentication needs (a key, a machine client) that keeps serving through a
// database outage: once the database has failed to answer, what it said before (still within its
// stale-serve bound) is answered at once while the load goes on in the background; a read with
// nothing to fall back on answers 503 DATABASE_UNAVAILABLE.
import { isDatabaseUnavailable } from '../../db/client.js';
import { AppError } from '../errors.js';

export async function readThroughOutage<T>(
  loading: Promise<T>,
  stale: NonNullable<T> | null,
  databaseDown: boolean,
): Promise<T> {
  if (stale && databaseDown) {
    loading.catch(() => undefined);
    return stale;
  }
  try {
    return await loading;
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    if (stale) return stale;
    throw new AppError('DATABASE_UNAVAILABLE');
  }
}
