// The Postgres adapter behind oidc-provider, as the app role: rows per model and id, consumption,
// revocation by grant, lookups by uid, and expired rows that are never answered and get swept.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deleteExpiredPayloads, grantIsLive, postgresAdapter } from '../../../api/identity/oidc/adapter.js';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { useTestApp } from '../../support/app.js';
import { useAdminPool } from '../api/helpers.js';

const t = useTestApp();
const admin = useAdminPool();

const adapterFor = (model: string) => postgresAdapter(t.app.db, masterKeyFromConfig(t.config))(model);

describe('the oidc-provider adapter', () => {
  it('stores, finds, consumes and destroys a payload per model', async () => {
    const tokens = adapterFor('RefreshToken');
    const id = randomUUID();
    await tokens.upsert(id, { jti: id, grantId: 'g1', kind: 'RefreshToken' }, 60);
    expect(await tokens.find(id)).toMatchObject({ jti: id, grantId: 'g1' });
    expect(await adapterFor('AccessToken').find(id)).toBeUndefined();

    await tokens.consume(id);
    expect((await tokens.find(id))?.consumed).toBeGreaterThan(0);
    await tokens.destroy(id);
    expect(await tokens.find(id)).toBeUndefined();
  });

  it('revokes every token of a grant, and only those', async () => {
    const tokens = adapterFor('RefreshToken');
    const grantId = randomUUID();
    const [a, b, other] = [randomUUID(), randomUUID(), randomUUID()];
    await tokens.upsert(a, { jti: a, grantId }, 60);
    await tokens.upsert(b, { jti: b, grantId }, 60);
    await tokens.upsert(other, { jti: other, grantId: randomUUID() }, 60);
    await tokens.revokeByGrantId(grantId);
    expect(await tokens.find(a)).toBeUndefined();
    expect(await tokens.find(b)).toBeUndefined();
    expect(await tokens.find(other)).toBeDefined();
  });

  it('finds sessions by uid and reports whether a grant lives', async () => {
    const sessions = adapterFor('Session');
    const id = randomUUID();
    const uid = randomUUID();
    await sessions.upsert(id, { uid, accountId: 'someone' }, 60);
    expect(await sessions.findByUid(uid)).toMatchObject({ uid, accountId: 'someone' });

    const grantId = randomUUID();
    expect(await grantIsLive(t.app.db, grantId)).toBe(false);
    await adapterFor('Grant').upsert(grantId, { jti: grantId }, 60);
    expect(await grantIsLive(t.app.db, grantId)).toBe(true);
  });

  it('never answers an expired row, and the sweep deletes it', async () => {
    const id = randomUUID();
    await admin.query(
      `INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES ('Grant', $1, '{}', now() - interval '1 second')`,
      [id],
    );
    expect(await adapterFor('Grant').find(id)).toBeUndefined();
    expect(await grantIsLive(t.app.db, id)).toBe(false);
    expect(await deleteExpiredPayloads(t.app.db)).toBeGreaterThanOrEqual(1);
    const { rowCount } = await admin.query('SELECT 1 FROM oidc_payloads WHERE id = $1', [id]);
    expect(rowCount).toBe(0);
  });

  it('refuses to write clients: they come from the management API', async () => {
    await expect(adapterFor('Client').upsert('x', {}, 60)).rejects.toThrow(/management API/);
    expect(await adapterFor('Client').find('vlc_not_ours')).toBeUndefined();
  });
});
