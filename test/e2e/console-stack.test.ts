// The stack the console's browser tests run against (test/support/console-stack.ts), driven over
// HTTP as the console would: a user signs up through the mailed link, creates an org that a real
// worker onboards, creates an API key, calls /v1, sees the call in the usage report and exports
// the org's data; mailed reset and invitation links are found; an operator is made.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleStack, type ConsoleStack } from '../support/console-stack.js';
import { until } from '../support/until.js';

let stack: ConsoleStack;
let startedInMs: number;

beforeAll(async () => {
  const started = Date.now();
  stack = await startConsoleStack();
  startedInMs = Date.now() - started;
});

afterAll(async () => {
  await stack?.stop();
});

const password = 'correct horse battery staple';
const uniqueEmail = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.test`;

async function api<T>(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(token && { authorization: `Bearer ${token}` }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, text };
}

async function login(email: string): Promise<{ userId: string; accessToken: string }> {
  const res = await api<{ user: { id: string }; accessToken: string }>('POST', '/api/auth/login', undefined, {
    email,
    password,
  });
  expect(res.status, res.text).toBe(200);
  return { userId: res.body.user.id, accessToken: res.body.accessToken };
}

describe('the console stack', () => {
  it('answers on its port', async () => {
    console.log(`console stack started in ${startedInMs} ms at ${stack.baseUrl}`);
    expect(stack.consoleUrl).toBe(`${stack.baseUrl}/console/`);
    expect((await api('GET', '/healthz')).status).toBe(200);
  });

  it('onboards a signed-up user’s org and reports its /v1 calls as usage', async () => {
    const email = uniqueEmail('console-owner');
    const { userId } = await stack.signUpVerified(email, password);
    const owner = await login(email);
    expect(owner.userId).toBe(userId);

    const created = await api<{ orgId: string }>('POST', '/api/orgs', owner.accessToken, {
      name: 'Console Co',
    });
    expect(created.status, created.text).toBe(202);
    const { orgId } = created.body;
    const org = await until('onboarding to finish', async () => {
      const res = await api<{ status: string; plan: string }>('GET', `/api/orgs/${orgId}`, owner.accessToken);
      return res.body.status === 'onboarding' ? undefined : res.body;
    });
    expect(org.status).toBe('active');

    const key = await api<{ key: string }>('POST', `/api/orgs/${orgId}/api-keys`, owner.accessToken, {
      name: 'console smoke',
      scopes: ['inference', 'models:read'],
    });
    expect(key.status, key.text).toBe(201);
    const answer = await api<{ usage: { prompt_tokens: number; completion_tokens: number } }>(
      'POST',
      '/v1/chat/completions',
      key.body.key,
      { model: stack.model, messages: [{ role: 'user', content: 'Hello, butterflies.' }] },
    );
    expect(answer.status, answer.text).toBe(200);

    const called = Date.now();
    const row = await until('the call in the usage report', async () => {
      const res = await api<{ rows: { group: string; requests: number; promptTokens: number }[] }>(
        'GET',
        `/api/orgs/${orgId}/usage`,
        owner.accessToken,
      );
      return res.body.rows.find((r) => r.group === stack.model);
    });
    console.log(`usage reported ${Date.now() - called} ms after the call`);
    expect(row).toMatchObject({ requests: 1, promptTokens: answer.body.usage.prompt_tokens });

    // A GDPR export runs on the same worker: every store read, the archive in object storage.
    const asked = await api<{ id: string }>('POST', `/api/orgs/${orgId}/data-requests`, owner.accessToken, {
      kind: 'export',
      scope: 'organization',
    });
    expect(asked.status, asked.text).toBe(202);
    const exported = await until(
      'the export to complete',
      async () => {
        const res = await api<{ status: string; files: { name: string }[] }>(
          'GET',
          `/api/orgs/${orgId}/data-requests/${asked.body.id}`,
          owner.accessToken,
        );
        return res.body.status === 'completed' ? res.body : undefined;
      },
      60_000,
    );
    expect(exported.files.map((f) => f.name)).toContain('usage.json');
  });

  it('finds mailed reset and invitation links, and makes operators', async () => {
    const email = uniqueEmail('console-admin');
    await stack.signUpVerified(email, password);
    const admin = await login(email);
    expect((await api('GET', '/api/admin/models', admin.accessToken)).status).toBe(403);
    await stack.makeOperator(email);
    expect((await api('GET', '/api/admin/models', admin.accessToken)).status).toBe(200);

    const since = new Date();
    expect((await api('POST', '/api/auth/password-reset', undefined, { email })).status).toBe(202);
    const reset = new URL(await stack.latestMailLink(email, 'password-reset', since));
    expect(reset.origin).toBe(stack.baseUrl);
    expect(reset.pathname).toMatch(/\/reset-password$/);
    expect(reset.searchParams.get('token')).toBeTruthy();

    const created = await api<{ orgId: string }>('POST', '/api/orgs', admin.accessToken, { name: 'Invites' });
    const { orgId } = created.body;
    await until('onboarding to finish', async () => {
      const res = await api<{ status: string }>('GET', `/api/orgs/${orgId}`, admin.accessToken);
      return res.body.status === 'onboarding' ? undefined : res.body;
    });
    const invitee = uniqueEmail('console-invitee');
    const invited = await api<{ token: string }>(
      'POST',
      `/api/orgs/${orgId}/invitations`,
      admin.accessToken,
      {
        email: invitee,
        role: 'member',
      },
    );
    expect(invited.status, invited.text).toBe(201);
    const accept = new URL(await stack.latestMailLink(invitee, 'invitation'));
    expect(accept.pathname).toMatch(/\/invitations\/accept$/);
    expect(accept.searchParams.get('org')).toBe(orgId);
    expect(accept.searchParams.get('token')).toBe(invited.body.token);
  });
});
