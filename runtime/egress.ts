// The egress guard: the one way out for requests whose URL a tenant can steer (an org's SSO issuer,
// the endpoints and JWKS its discovery document names; later webhooks and file imports). Each hop:
// https only (unless EGRESS_ALLOW_HTTP), no credentials in the URL, the name resolved once, every
// answer checked against core/egress-addresses.ts (and the operator's EGRESS_ALLOW_HOSTS), and the
// connection made to the first checked address — undici never resolves the name again, so a second,
// different DNS answer (rebinding) is never used; TLS still verifies the certificate for the name.
// Redirects of GET and HEAD are followed here, each re-checked; the body is read up to
// EGRESS_MAX_BYTES while streaming, and the whole exchange, redirects included, gets EGRESS_TIMEOUT_MS.
import { lookup as systemLookup } from 'node:dns/promises';
import { Agent, buildConnector, request } from 'undici';
import {
  egressAllowed,
  formatIp,
  normalizeHost,
  parseAllowList,
  parseIp,
  refusedRange,
  type EgressAllowList,
} from '../core/egress-addresses.js';

/** Resolves a name to its addresses, in preference order (dns.lookup with `all: true`). */
export type EgressLookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface EgressSettings {
  allowHttp: boolean;
  /** Host names, addresses and CIDR networks that may be reached even though private. */
  allowHosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  /** The resolver; the system's by default. Tests pass their own. */
  lookup?: EgressLookup | undefined;
  /** Told about every refused request (for logs and security monitoring). */
  onRefused?: ((event: { url: string; reason: EgressRefusal; detail: string }) => void) | undefined;
}

/** Why the guard refused a request: the URL or where it leads breaks the policy. */
export type EgressRefusal = 'scheme' | 'credentials' | 'address' | 'unresolved' | 'redirects' | 'too-large';
/** Why a request the policy allowed failed. */
export type EgressFailure = 'timeout' | 'network';

export class EgressError extends Error {
  override readonly name = 'EgressError';
  constructor(
    readonly reason: EgressRefusal | EgressFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when the policy refused the request (as opposed to a failure to reach an allowed address). */
  get refused(): boolean {
    return this.reason !== 'timeout' && this.reason !== 'network';
  }
}

/** The EgressError behind an error, following `cause` (openid-client wraps what its fetch throws). */
export function egressErrorOf(err: unknown): EgressError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++)
    if (e instanceof EgressError) return e;
  return undefined;
}

/** What openid-client and jose hand their fetch. */
export interface EgressRequestInit {
  method?: string | undefined;
  headers?: Headers | Record<string, string> | undefined;
  body?: string | Uint8Array | ArrayBuffer | URLSearchParams | ReadableStream | null | undefined;
  signal?: AbortSignal | null | undefined;
  redirect?: string | undefined;
}

interface Target {
  address: string;
  family: 4 | 6;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** Headers that never follow a redirect to another origin. */
const originBoundHeaders = ['authorization', 'cookie', 'proxy-authorization'];

async function defaultLookup(hostname: string) {
  return systemLookup(hostname, { all: true, verbatim: true });
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class EgressGuard {
  private readonly allow: EgressAllowList;
  private readonly lookup: EgressLookup;
  /** `fetch`, bound: pass it as openid-client's and jose's customFetch. */
  readonly fetch = (input: string | URL, init: EgressRequestInit = {}) => this.send(input, init);

  constructor(private readonly settings: EgressSettings) {
    this.allow = parseAllowList(settings.allowHosts);
    this.lookup = settings.lookup ?? defaultLookup;
  }

  get allowsHttp(): boolean {
    return this.settings.allowHttp;
  }

  private refuse(url: URL, reason: EgressRefusal, detail: string): EgressError {
    this.settings.onRefused?.({ url: `${url.protocol}//${url.host}${url.pathname}`, reason, detail });
    return new EgressError(reason, `egress refused (${reason}): ${detail}`);
  }

  /** Checks one URL and answers the address to connect to; throws EgressError when refused. */
  async check(url: URL, signal: AbortSignal = new AbortController().signal): Promise<Target> {
    if (url.protocol !== 'https:' && !(this.settings.allowHttp && url.protocol === 'http:'))
      throw this.refuse(url, 'scheme', `${url.protocol} is not allowed; use https`);
    if (url.username !== '' || url.password !== '')
      throw this.refuse(url, 'credentials', 'the URL carries credentials');
    const host = normalizeHost(url.hostname);
    const literal = parseIp(host);
    let answers: { address: string; family: number }[];
    if (literal) answers = [{ address: formatIp(literal), family: literal.version }];
    else {
      try {
        answers = await abortable(this.lookup(host), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw this.refuse(url, 'unresolved', `${host} does not resolve`);
      }
      if (answers.length === 0) throw this.refuse(url, 'unresolved', `${host} does not resolve`);
    }
    // Every answer must pass: a name that also resolves to a private address is refused outright.
    const checked: Target[] = [];
    for (const answer of answers) {
      const ip = parseIp(answer.address);
      if (!ip) throw this.refuse(url, 'address', `${host} resolved to an unreadable address`);
      if (!egressAllowed(ip, host, this.allow))
        throw this.refuse(url, 'address', `${host} is a ${refusedRange(ip) ?? 'refused'} address`);
      checked.push({ address: formatIp(ip), family: ip.version });
    }
    return checked[0]!;
  }

  private async send(input: string | URL, init: EgressRequestInit): Promise<Response> {
    const deadline = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    let url = new URL(String(input));
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    // Compressed answers would be capped compressed and handed on undecoded.
    headers.set('accept-encoding', 'identity');
    const body = bodyOf(init.body, headers);
    try {
      for (let hop = 0; ; hop++) {
        const target = await this.check(url, signal);
        const answer = await this.exchange(url, target, method, headers, body, signal);
        const location = answer.headers.get('location');
        if (redirectStatuses.has(answer.status) && location && (method === 'GET' || method === 'HEAD')) {
          if (hop >= this.settings.maxRedirects)
            throw this.refuse(url, 'redirects', `more than ${this.settings.maxRedirects} redirects`);
          const next = new URL(location, url);
          if (next.origin !== url.origin) for (const name of originBoundHeaders) headers.delete(name);
          url = next;
          continue;
        }
        return answer;
      }
    } catch (err) {
      if (err instanceof EgressError) throw err;
      // The caller's own deadline or abort is the caller's to report (jose maps it to JWKSTimeout).
      if (init.signal?.aborted) throw init.signal.reason;
      if (deadline.aborted)
        throw new EgressError('timeout', `egress timed out after ${this.settings.timeoutMs} ms`, {
          cause: err,
        });
      throw new EgressError('network', `egress failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** One request over a connection to the checked address only; answers the capped, whole response. */
  private async exchange(
    url: URL,
    target: Target,
    method: string,
    headers: Headers,
    body: string | Uint8Array | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    const connector = buildConnector({ timeout: this.settings.timeoutMs });
    // The pinned connection: undici's hostname (which it would resolve again) is replaced by the
    // checked address; the Host header and TLS's server name and certificate check keep the name.
    const agent = new Agent({
      connections: 1,
      pipelining: 0,
      connect: (options, callback) => connector({ ...options, hostname: target.address }, callback),
    });
    try {
      const res = await request(url, {
        method: method as 'GET',
        headers: Object.fromEntries(headers),
        body: body ?? null,
        dispatcher: agent,
        signal,
        headersTimeout: this.settings.timeoutMs,
        bodyTimeout: this.settings.timeoutMs,
      });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > this.settings.maxBytes) {
        res.body.destroy();
        throw this.refuse(url, 'too-large', `the answer declares ${declared} bytes`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.settings.maxBytes) {
          res.body.destroy();
          throw this.refuse(url, 'too-large', `the answer exceeds ${this.settings.maxBytes} bytes`);
        }
        chunks.push(chunk);
      }
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
      }
      const empty = res.statusCode === 204 || res.statusCode === 205 || res.statusCode === 304;
      return new Response(empty ? null : Buffer.concat(chunks), {
        status: res.statusCode,
        headers: responseHeaders,
      });
    } finally {
      agent.destroy().catch(() => undefined);
    }
  }
}

function bodyOf(body: EgressRequestInit['body'], headers: Headers): string | Uint8Array | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
    return body.toString();
  }
  throw new TypeError('the egress guard does not send streamed bodies');
}

/** The guard as configured (EGRESS_* keys); `lookup` replaces the system resolver (tests). */
export function egressSettingsFromConfig(config: {
  EGRESS_ALLOW_HTTP: boolean;
  EGRESS_ALLOW_HOSTS: string[];
  EGRESS_MAX_BYTES: number;
  EGRESS_TIMEOUT_MS: number;
  EGRESS_MAX_REDIRECTS: number;
}): EgressSettings {
  return {
    allowHttp: config.EGRESS_ALLOW_HTTP,
    allowHosts: config.EGRESS_ALLOW_HOSTS,
    maxBytes: config.EGRESS_MAX_BYTES,
    timeoutMs: config.EGRESS_TIMEOUT_MS,
    maxRedirects: config.EGRESS_MAX_REDIRECTS,
  };
}
