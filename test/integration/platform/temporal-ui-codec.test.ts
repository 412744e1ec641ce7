// The Temporal UI's codec proxy under `up` (scripts/temporal-ui-codec.ts): the UI's page gets payloads
// decoded as the local operator, no other page gets anything, and the API's own /codec still
// answers operators only.
import { request, type Server } from 'node:http';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPayloadCodec } from '../../../runtime/codec.js';
import { ensureOperatorAccount, startCodecProxy } from '../../../scripts/temporal-ui-codec.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { createPendingTenant } from '../../workflows/tenant-fixture.js';
import { uniqueEmail } from '../api/helpers.js';

const uiOrigin = 'http://localhost:8233';
let t: TestApp;
let apiUrl: string;
let proxy: { server: Server; url: string };
const account = () => ({ apiUrl, email: operatorEmail, password: 'local operator password' });
const operatorEmail = uniqueEmail('up-operator');

type Wire = { metadata?: Record<string, string>; data?: string };

beforeAll(async () => {
  t = await buildTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as { port: number };
  apiUrl = `http://127.0.0.1:${port}`;
  await ensureOperatorAccount(account(), inject('adminDatabaseUrl'));
  proxy = await startCodecProxy({ ...account(), uiOrigin }, 0);
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.server.close(resolve));
  await t?.close();
});

/** A payload the platform encrypted with an org's key, as workflow histories hold them. */
async function sealed(value: unknown): Promise<Wire> {
  const [payload] = await createPayloadCodec(t.config, t.app.db).encode([
    defaultPayloadConverter.toPayload(value),
  ]);
  return {
    metadata: Object.fromEntries(
      Object.entries(payload!.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(payload!.data!).toString('base64'),
  };
}

const decode = (payloads: Wire[], headers: Record<string, string>) =>
  fetch(`${proxy.url}/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'vlinders', ...headers },
    body: JSON.stringify({ payloads }),
  });

describe('the Temporal UI codec proxy of up', () => {
  it("decodes an org's encrypted payload for the Temporal UI's page", async () => {
    const { orgId, ownerEmail } = await createPendingTenant(t.app.db);
    const res = await decode([await sealed({ orgId, ownerEmail })], { origin: uiOrigin });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    const [payload] = ((await res.json()) as { payloads: Wire[] }).payloads;
    expect(JSON.parse(Buffer.from(payload!.data!, 'base64').toString())).toEqual({ orgId, ownerEmail });
  });

  it("answers the UI's CORS preflight", async () => {
    const res = await fetch(`${proxy.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: uiOrigin, 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(res.headers.get('access-control-allow-headers')).toContain('x-namespace');
  });

  it('refuses any other page, and a DNS name that is not loopback', async () => {
    const { orgId, ownerEmail } = await createPendingTenant(t.app.db);
    const payload = await sealed({ orgId, ownerEmail });
    const otherPage = await decode([payload], { origin: 'http://attacker.example' });
    expect(otherPage.status).toBe(403);
    expect(otherPage.headers.get('access-control-allow-origin')).toBeNull();
    expect(await otherPage.text()).not.toContain(ownerEmail);

    // fetch sets Host from the URL; a page whose name now resolves to 127.0.0.1 sends its own.
    const rebound = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = request(
        `${proxy.url}/decode`,
        {
          method: 'POST',
          headers: {
            host: 'attacker.example:8234',
            origin: 'http://attacker.example:8234',
            'content-type': 'application/json',
          },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ payloads: [payload] }));
    });
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain(ownerEmail);
  });

  it("leaves the API's codec endpoint to operators", async () => {
    const res = await fetch(`${apiUrl}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: uiOrigin },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(res.status).toBe(401);
  });

  it('keeps the operator account on a second start, and says so when the password does not match', async () => {
    await expect(ensureOperatorAccount(account(), inject('adminDatabaseUrl'))).resolves.toBeUndefined();
    await expect(
      ensureOperatorAccount(
        { ...account(), password: 'another password entirely' },
        inject('adminDatabaseUrl'),
      ),
    ).rejects.toThrow(/exists with another password/);
  });
});
