// Upstream base URLs of model deployments (a Ray Serve/vLLM application's replicas). Only platform
// operators set them, through the admin API; the gateway never takes an upstream URL from a client
// request (the LLM-gateway SSRF class). What is stored is normalised: scheme and host lower-cased,
// no trailing slash, and without the `/v1` the gateway appends itself.

export const maxUpstreamUrlLength = 2048;

export type UpstreamUrlCheck = { ok: true; url: string } | { ok: false; problem: string };

/** Checks one base URL and returns its normalised form, or what is wrong with it. */
export function checkUpstreamUrl(input: string): UpstreamUrlCheck {
  if (input.length > maxUpstreamUrlLength)
    return { ok: false, problem: `is longer than ${maxUpstreamUrlLength} characters` };
  // Stricter than WHATWG parsing, which would read `http:///x` or `http:\\x` as `http://x`.
  if (!/^https?:\/\/[^/\\\s]/i.test(input) || /[\s\\]/.test(input))
    return { ok: false, problem: 'must be http(s)://host[:port][/path] without spaces or backslashes' };
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return { ok: false, problem: 'is not a URL' };
  }
  if (url.hostname === '') return { ok: false, problem: 'has no host' };
  if (url.username !== '' || url.password !== '') return { ok: false, problem: 'must not carry credentials' };
  // `new URL` drops an empty `?` or `#`; the raw text must not have them either.
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(input))
    return { ok: false, problem: 'must not have a query or fragment' };
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/v1$/i.test(path)) return { ok: false, problem: 'must be the base URL, without /v1' };
  return { ok: true, url: `${url.protocol}//${url.host}${path}` };
}
