// A tenant ready to call the inference API: the app listening on a port (so the official `openai`
// client reaches it over HTTP), an active org with an API key, and models in the registry whose
// deployments point at simulators or at recording upstreams started by the test.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { expect } from 'vitest';
import type { TestApp } from '../../support/app.js';
import { Simulator } from '../../../simulator/simulator.js';
import { bearer, seedActiveOrg, signUp, type TestUser } from '../api/helpers.js';

export interface GatewayWorld {
  baseURL: string;
  owner: TestUser;
  orgId: string;
  key: string;
  client: OpenAI;
}

/** Listens on a free port and builds the tenant. */
export async function gatewayWorld(
  t: TestApp,
  admin: pg.Pool,
  keyBody: Record<string, unknown> = {},
): Promise<GatewayWorld> {
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const baseURL = `${address}/v1`;
  const owner = await signUp(
    t.app,
    'gateway',
    `10.4.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
  );
  const orgId = await seedActiveOrg(admin, owner, 'Gateway org');
  const key = await createKey(t, owner, orgId, keyBody);
  return { baseURL, owner, orgId, key, client: clientFor(baseURL, key) };
}

// The SDK's connections go through a pool of the test file's own, to close (closeClients) before
// the app: the app waits at shutdown for every open connection, and a pool keeps spare ones open.
const clientPool = new Agent();
export const closeClients = () => clientPool.destroy();

export function clientFor(baseURL: string, apiKey: string): OpenAI {
  return new OpenAI({
    baseURL,
    apiKey,
    maxRetries: 0,
    timeout: 20_000,
    fetch: undiciFetch as unknown as typeof fetch,
    fetchOptions: { dispatcher: clientPool } as object,
  });
}

export async function createKey(
  t: TestApp,
  owner: TestUser,
  orgId: string,
  body: Record<string, unknown> = {},
): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/api-keys`,
    headers: bearer(owner),
    payload: { name: `key-${randomUUID().slice(0, 6)}`, scopes: ['inference', 'models:read'], ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ key: string }>().key;
}

export interface ModelSpec {
  name?: string;
  contextLength?: number;
  fallbackModel?: string;
  deployments: { urls: string[]; upstreamModel: string; weight?: number; version?: string }[];
}

/** Writes a model and its deployments into the registry; answers the model's public name. */
export async function addModel(admin: pg.Pool, spec: ModelSpec): Promise<string> {
  const name = spec.name ?? `model-${randomUUID().slice(0, 8)}`;
  const {
    rows: [model],
  } = await admin.query<{ id: string }>(
    `INSERT INTO models (name, context_length, input_price_per_million, output_price_per_million, status, fallback_model)
     VALUES ($1, $2, 0.5, 1.5, 'active', $3) RETURNING id`,
    [name, spec.contextLength ?? 8192, spec.fallbackModel ?? null],
  );
  for (const [i, d] of spec.deployments.entries())
    await admin.query(
      `INSERT INTO model_deployments (model_id, version, upstream_model, urls, weight, state)
       VALUES ($1, $2, $3, $4, $5, 'active')`,
      [model!.id, d.version ?? `v${i + 1}`, d.upstreamModel, d.urls, d.weight ?? 100],
    );
  return name;
}

/** Waits until the app's registry serves the model (replicas poll the registry every second). */
export async function untilRegistered(t: TestApp, name: string): Promise<void> {
  for (let waited = 0; !t.app.modelRegistry.model(name); waited += 100) {
    // Replicas poll once a second; 20 s is room for a busy machine.
    if (waited > 20_000) throw new Error(`model ${name} never reached the registry`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A simulator's base URL as a deployment url (deployments list servers without /v1). */
/** A simulator that answers at once (4 tokens, usage reported): for tests about the gateway, not the model. */
export function quickSimulator(): Simulator {
  return new Simulator({
    models: ['upstream-chat'],
    timeToFirstTokenMs: 2,
    interTokenMs: 1,
    completionTokens: 4,
    errorRate: 0,
    usage: true,
    embeddingDimensions: 4,
  });
}

export const serverUrl = (simulatorBase: string) => simulatorBase.replace(/\/v1$/, '');

/**
 * The world of a test about the gateway's own machinery under load: its org on the enterprise plan
 * (so limits stay out of the way) and a model served by `simulator`, registered on `t`.
 */
export async function roomyWorld(
  t: TestApp,
  admin: pg.Pool,
  simulator: Simulator,
): Promise<{ world: GatewayWorld; model: string }> {
  const world = await gatewayWorld(t, admin);
  await admin.query(`UPDATE organizations SET plan = 'enterprise' WHERE id = $1`, [world.orgId]);
  const model = await addModel(admin, {
    deployments: [{ urls: [serverUrl(await simulator.listen())], upstreamModel: 'upstream-chat' }],
  });
  await untilRegistered(t, model);
  return { world, model };
}

/** A test upstream on a free loopback port; answers a chat completion when `handle` says so. */
abstract class TestUpstream {
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      this.handle(req, body, (content) => {
        const answer = {
          id: 'test-upstream',
          object: 'chat.completion',
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
  });

  protected abstract handle(
    req: IncomingMessage,
    body: Record<string, unknown>,
    answer: (content: string) => void,
  ): void;

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** An upstream that records what reached it and answers at once. */
export class RecordingUpstream extends TestUpstream {
  readonly requests: { headers: IncomingMessage['headers']; body: Record<string, unknown> }[] = [];

  protected handle(req: IncomingMessage, body: Record<string, unknown>, answer: (content: string) => void) {
    this.requests.push({ headers: req.headers, body });
    answer('recorded');
  }
}

/** An upstream that holds every request until `open()`, then answers them all (and later ones). */
export class GatedUpstream extends TestUpstream {
  private readonly waiting: (() => void)[] = [];
  private opened = false;

  protected handle(_req: IncomingMessage, _body: Record<string, unknown>, answer: (content: string) => void) {
    if (this.opened) answer('let through');
    else this.waiting.push(() => answer('let through'));
  }

  /** Requests held right now. */
  get held(): number {
    return this.waiting.length;
  }

  open(): void {
    this.opened = true;
    for (const answer of this.waiting.splice(0)) answer();
  }
}

/** A url where nothing listens: connections are refused at once. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
