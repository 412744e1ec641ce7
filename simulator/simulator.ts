// A STAND-IN for the GPU model server (Ray Serve + vLLM), named as such everywhere: an
// OpenAI-compatible upstream that generates filler tokens on a configurable schedule. It serves
// `up`, the tests and the benchmarks when no real model server is configured; the gateway talks to
// it through exactly the code path it uses for vLLM. Plain node:http, so that in benchmarks the
// simulator costs as little CPU as possible and the gateway's cost is what gets measured.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SimulatorOptions {
  /** Model ids served (GET /v1/models); any other model is a 404 like vLLM's. */
  models: string[];
  /** Delay before the first token, in ms. */
  timeToFirstTokenMs: number;
  /** Delay between two tokens, in ms. */
  interTokenMs: number;
  /** Completion tokens per answer, capped by the request's max_tokens / max_completion_tokens. */
  completionTokens: number;
  /** Fraction of requests (0–1) answered with a 500 in OpenAI's error shape. */
  errorRate: number;
  /** Whether answers report `usage` (streams only when the client asks with stream_options). */
  usage: boolean;
  /** Embedding vector length. */
  embeddingDimensions: number;
}

export const defaultSimulatorOptions: SimulatorOptions = {
  models: ['sim-chat'],
  timeToFirstTokenMs: 20,
  interTokenMs: 10,
  completionTokens: 16,
  errorRate: 0,
  usage: true,
  embeddingDimensions: 8,
};

/** What the simulator has seen, for tests that check what reached (or was cut off at) the upstream. */
export interface SimulatorStats {
  requests: number;
  completed: number;
  /** Streams whose client went away before the last token: generation stopped there. */
  cancelled: number;
  failed: number;
}

const maxBodyBytes = 4 * 1024 * 1024;

/** A prompt's token count as the simulator reports it: one token per 4 characters, at least 1. */
export function simulatedTokenCount(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

type Body = Record<string, unknown>;

class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

function promptText(path: string, body: Body): string {
  if (path === '/v1/chat/completions') {
    if (!Array.isArray(body.messages) || body.messages.length === 0)
      throw new BadRequest('messages must be a non-empty array');
    return body.messages
      .map((m: unknown) => {
        const content = (m as { content?: unknown } | null)?.content;
        return typeof content === 'string' ? content : JSON.stringify(content ?? '');
      })
      .join('\n');
  }
  const prompt = body.prompt;
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) return prompt.map(String).join('\n');
  throw new BadRequest(path === '/v1/embeddings' ? 'input is required' : 'prompt is required');
}

function completionBudget(body: Body, options: SimulatorOptions): number {
  const asked = body.max_completion_tokens ?? body.max_tokens;
  if (asked === undefined || asked === null) return options.completionTokens;
  if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1)
    throw new BadRequest('max_tokens must be a positive integer');
  return Math.min(asked, options.completionTokens);
}

/** The n-th generated token: words that make streamed text readable and countable. */
const tokenText = (n: number) => (n === 0 ? 'sim' : ` token${n}`);

function readBody(req: IncomingMessage): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new BadRequest('request body too large', 413));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new BadRequest('the body must be a JSON object');
        resolve(parsed as Body);
      } catch (err) {
        reject(err instanceof BadRequest ? err : new BadRequest('the body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, { error: { message, type, param: null, code: null } });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Simulator {
  readonly stats: SimulatorStats = { requests: 0, completed: 0, cancelled: 0, failed: 0 };
  private readonly server: Server;

  constructor(readonly options: SimulatorOptions = defaultSimulatorOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (err instanceof BadRequest) sendError(res, err.status, err.message, err.type);
        else sendError(res, 500, 'simulator failure', 'server_error');
      });
    });
    this.server.keepAliveTimeout = 65_000;
  }

  /** Listens on host:port (port 0: a free one) and answers the base URL, e.g. http://127.0.0.1:4000/v1. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const { port: bound } = this.server.address() as AddressInfo;
    return `http://${host}:${bound}/v1`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: this.options.models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'simulator' })),
      });
      return;
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200).end();
      return;
    }
    const generating = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'];
    if (req.method !== 'POST' || !generating.includes(path)) {
      sendError(res, 404, `no route ${req.method ?? ''} ${path}`, 'not_found_error');
      return;
    }
    this.stats.requests += 1;
    const body = await readBody(req);
    const model = body.model;
    if (typeof model !== 'string' || !this.options.models.includes(model))
      throw new BadRequest(`The model \`${String(model)}\` does not exist.`, 404, 'not_found_error');
    if (Math.random() < this.options.errorRate) {
      this.stats.failed += 1;
      sendError(res, 500, 'simulated upstream failure', 'server_error');
      return;
    }
    if (path === '/v1/embeddings') {
      this.embeddings(res, model, body);
      return;
    }
    const promptTokens = simulatedTokenCount(promptText(path, body));
    const budget = completionBudget(body, this.options);
    const chat = path === '/v1/chat/completions';
    if (body.stream === true) await this.stream(res, { model, chat, promptTokens, budget, body });
    else await this.complete(res, { model, chat, promptTokens, budget });
  }

  private usage(promptTokens: number, completionTokens: number) {
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
  }

  private async complete(
    res: ServerResponse,
    p: { model: string; chat: boolean; promptTokens: number; budget: number },
  ): Promise<void> {
    await sleep(this.options.timeToFirstTokenMs + this.options.interTokenMs * Math.max(0, p.budget - 1));
    const text = Array.from({ length: p.budget }, (_, i) => tokenText(i)).join('');
    const choice = p.chat
      ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'length', logprobs: null }
      : { index: 0, text, finish_reason: 'length', logprobs: null };
    sendJson(res, 200, {
      id: `${p.chat ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
      object: p.chat ? 'chat.completion' : 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: p.model,
      choices: [choice],
      ...(this.options.usage ? { usage: this.usage(p.promptTokens, p.budget) } : {}),
    });
    this.stats.completed += 1;
  }

  private async stream(
    res: ServerResponse,
    p: { model: string; chat: boolean; promptTokens: number; budget: number; body: Body },
  ): Promise<void> {
    const id = `${p.chat ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const object = p.chat ? 'chat.completion.chunk' : 'text_completion';
    const includeUsage =
      this.options.usage &&
      (p.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    // The response closes before it finished only when the client went away (req is no signal: it
    // is destroyed as soon as its body has been read).
    let gone = false;
    res.on('close', () => {
      gone = !res.writableFinished;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: string, finish: string | null) =>
      send({
        id,
        object,
        created,
        model: p.model,
        choices: [
          p.chat
            ? { index: 0, delta: { content: delta }, finish_reason: finish, logprobs: null }
            : { index: 0, text: delta, finish_reason: finish, logprobs: null },
        ],
        ...(includeUsage ? { usage: null } : {}),
      });
    await sleep(this.options.timeToFirstTokenMs);
    for (let i = 0; i < p.budget; i += 1) {
      if (gone) {
        this.stats.cancelled += 1;
        return;
      }
      if (i > 0) await sleep(this.options.interTokenMs);
      chunk(tokenText(i), i === p.budget - 1 ? 'length' : null);
    }
    if (includeUsage)
      send({ id, object, created, model: p.model, choices: [], usage: this.usage(p.promptTokens, p.budget) });
    res.end('data: [DONE]\n\n');
    this.stats.completed += 1;
  }

  private embeddings(res: ServerResponse, model: string, body: Body): void {
    const input = body.input;
    const inputs = typeof input === 'string' ? [input] : Array.isArray(input) ? input.map(String) : null;
    if (!inputs || inputs.length === 0) throw new BadRequest('input is required');
    const data = inputs.map((text, index) => ({
      object: 'embedding',
      index,
      // Deterministic per text, so tests can compare.
      embedding: Array.from({ length: this.options.embeddingDimensions }, (_, d) =>
        Number(Math.sin(simulatedTokenCount(text) * (d + 1) + text.length).toFixed(6)),
      ),
    }));
    const promptTokens = inputs.reduce((sum, text) => sum + simulatedTokenCount(text), 0);
    sendJson(res, 200, {
      object: 'list',
      data,
      model,
      ...(this.options.usage ? { usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } } : {}),
    });
    this.stats.completed += 1;
  }
}
