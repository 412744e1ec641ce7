// Shared by the serving tests: calls to vLLM behind Ray Serve without Vlinders in between (the
// reference the gateway's answers are compared with), and a reader of the node's Prometheus metrics.

/** An OpenAI-shaped answer's usage, as vLLM reports it. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens?: number;
  total_tokens: number;
}

/** A non-streamed call straight to a Serve application's OpenAI API. */
export async function direct<T = { model: string; usage: Usage }>(
  serveUrl: string,
  application: string,
  endpoint: 'chat/completions' | 'completions' | 'embeddings',
  body: Record<string, unknown>,
): Promise<T> {
  const res = await fetch(`${serveUrl}/${application}/v1/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: application, ...body }),
  });
  if (!res.ok) throw new Error(`${application} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** A streamed call straight to a Serve application, with the usage chunk asked for; answers the usage. */
export async function directStreamUsage(
  serveUrl: string,
  application: string,
  endpoint: 'chat/completions' | 'completions',
  body: Record<string, unknown>,
): Promise<Usage> {
  const res = await fetch(`${serveUrl}/${application}/v1/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: application,
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok) throw new Error(`${application} answered ${res.status}: ${await res.text()}`);
  const events = (await res.text())
    .split('\n\n')
    .map((e) => e.replace(/^data: /, '').trim())
    .filter((e) => e && e !== '[DONE]')
    .map((e) => JSON.parse(e) as { usage?: Usage | null });
  const usage = events.findLast((e) => e.usage)?.usage;
  if (!usage) throw new Error(`${application} streamed no usage`);
  return usage;
}

/**
 * The sum of a metric's samples whose labels include `labels`, from the node's Prometheus endpoint
 * (Ray exports what its processes report every few seconds, so a value lags a little).
 */
export async function metric(
  metricsUrl: string,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labelText = line.slice(name.length + 1, close);
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`)))
      sum += Number(line.slice(close + 1).trim());
  }
  return sum;
}
