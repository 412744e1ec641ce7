// The token counts of one answer, as the upstream reported them in OpenAI's `usage` object.

export interface UpstreamUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

const count = (value: unknown): number | null =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;

/** The usage in an upstream answer, or null when it has none (or none that adds up). */
export function readUsage(usage: unknown): UpstreamUsage | null {
  if (typeof usage !== 'object' || usage === null) return null;
  const u = usage as Record<string, unknown>;
  const promptTokens = count(u.prompt_tokens);
  if (promptTokens === null) return null;
  const details = u.prompt_tokens_details as Record<string, unknown> | null | undefined;
  return {
    promptTokens,
    // Embeddings report no completion tokens.
    completionTokens: count(u.completion_tokens) ?? 0,
    cachedTokens: count(details?.cached_tokens) ?? 0,
  };
}
