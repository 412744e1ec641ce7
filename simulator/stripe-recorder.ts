// Part of the Stripe STAND-IN. stripe-mock is stateless: it validates each request and answers a
// fixture, so it cannot say what it was sent. This recording proxy sits in front of it, forwards
// every request unchanged and keeps what reached it (method, path, form parameters, idempotency
// key), so a test can count the meter events or customers that Stripe would have seen. A test may
// also answer a request itself (`intercept`), e.g. to play a Stripe outage. `up` runs it without
// recording (stripe-account-main.ts), to make stripe-mock act as one Stripe account.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedStripeRequest {
  method: string;
  /** The path without the query, e.g. /v1/billing/meter_events. */
  path: string;
  /** Form (or query) parameters, keys as Stripe encodes them: payload[value], metadata[orgId]. */
  params: Record<string, string>;
  idempotencyKey: string | undefined;
}

export interface InterceptedAnswer {
  status: number;
  body: unknown;
}

export class StripeRecorder {
  readonly requests: RecordedStripeRequest[] = [];
  /** Answers a request instead of stripe-mock when it returns an answer. */
  intercept: ((request: RecordedStripeRequest) => InterceptedAnswer | undefined) | undefined;
  /** Changes stripe-mock's JSON answer before it is returned (e.g. a fresh id where its fixture repeats one). */
  rewrite: ((request: RecordedStripeRequest, body: Record<string, unknown>) => unknown) | undefined;
  private server: Server | undefined;
  url = '';

  /** `record: false` keeps nothing (a long-running proxy, as `up` runs it). */
  constructor(
    private readonly upstream: string,
    private readonly options: { record: boolean } = { record: true },
  ) {}

  async start(port = 0, host = '127.0.0.1'): Promise<this> {
    this.server = createServer((req, res) => {
      void this.forward(req).then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers);
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: String(err) } }));
        },
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The recorded requests to one method and path. */
  calls(method: string, path: string): RecordedStripeRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  clear(): void {
    this.requests.length = 0;
  }

  private async forward(
    req: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stripe.invalid');
    const form = new URLSearchParams(req.method === 'GET' ? url.search : body);
    const recorded: RecordedStripeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      params: Object.fromEntries(form),
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
    };
    if (this.options.record) this.requests.push(recorded);
    const answer = this.intercept?.(recorded);
    if (answer) {
      return {
        status: answer.status,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(answer.body),
      };
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers.set(name, value);
    }
    const upstream = await fetch(`${this.upstream}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(req.method !== 'GET' && req.method !== 'DELETE' && { body }),
    });
    const text = await upstream.text();
    return {
      status: upstream.status,
      headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json' },
      body:
        this.rewrite && upstream.ok
          ? JSON.stringify(this.rewrite(recorded, JSON.parse(text) as Record<string, unknown>))
          : text,
    };
  }
}
