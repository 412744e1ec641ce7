// Recognises PostgreSQL errors the services turn into answers (drizzle wraps them in `cause`).

function pgCode(err: unknown): string | undefined {
  for (let e: unknown = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (pgCode(err) !== '23505') return false;
  if (!constraint) return true;
  for (let e: unknown = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    if ((e as { constraint?: unknown }).constraint === constraint) return true;
  }
  return false;
}

/** A value PostgreSQL could not parse for its column type (e.g. a CIDR with host bits set). */
export function isInvalidTextRepresentation(err: unknown): boolean {
  return pgCode(err) === '22P02';
}

/** A row refers to one that does not exist, or a delete would leave rows referring to it. */
export function isForeignKeyViolation(err: unknown): boolean {
  return pgCode(err) === '23503';
}
