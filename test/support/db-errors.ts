/** The database's own error message, beneath drizzle's "Failed query" wrapper ('no error' if none). */
export async function dbError(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    return err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
  }
  return 'no error';
}
