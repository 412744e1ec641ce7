import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';

describe('test services', () => {
  it('connects as the app role, which is neither superuser nor BYPASSRLS', async () => {
    const c = new pg.Client(inject('databaseUrl'));
    await c.connect();
    const { rows } = await c.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
      'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user',
    );
    await c.end();
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
  });
});
