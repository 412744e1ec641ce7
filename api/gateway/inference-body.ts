// Reads an inference request body (chat completions, completions, embeddings) as OpenAI defines
// it: the fields the gateway acts on are checked, every other field travels to the upstream as it
// came (vLLM's extra sampling and guided-decoding parameters). No field can choose the upstream:
// names that other gateways read as an upstream address are refused outright (the LLM-gateway SSRF
// class, CVE-2024-6587, CVE-2025-66405); the upstream comes from the model registry only.
import { InferenceError } from '../errors.js';
import { contentText } from './routing/affinity.js';

export type InferenceEndpoint = 'chat/completions' | 'completions' | 'embeddings';

export interface InferenceBody {
  /** The body to forward; the gateway rewrites `model`, `max_tokens` and `stream_options` in it. */
  fields: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** Whether the client asked for the usage chunk at the end of a stream. */
  clientWantsUsage: boolean;
  /** The completion budget the client asked for (max_tokens or max_completion_tokens), if any. */
  maxTokens: number | null;
  /** The prompt's text, for the token estimate and the routing affinity. */
  promptText: string;
}

/** Field names that choose an upstream in other gateways and SDK wrappers; never accepted here. */
const upstreamSelectors = [
  'api_base',
  'base_url',
  'api_url',
  'api_key',
  'api_version',
  'upstream',
  'upstream_url',
  'endpoint',
  'custom_llm_provider',
  'provider',
  'proxy',
];

const invalid = (message: string, param: string) =>
  new InferenceError('VALIDATION', 'invalid_request', message, { param });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInteger(fields: Record<string, unknown>, name: string): number | null {
  const value = fields[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw invalid(`'${name}' must be a positive integer.`, name);
  return value;
}

function chatPrompt(fields: Record<string, unknown>): string {
  const messages = fields.messages;
  if (!Array.isArray(messages) || messages.length === 0)
    throw invalid("'messages' must be a non-empty array of messages.", 'messages');
  let text = '';
  messages.forEach((message, i) => {
    if (!isRecord(message) || typeof message.role !== 'string')
      throw invalid(`'messages[${i}]' must be an object with a string 'role'.`, `messages[${i}]`);
    text += `${message.role}\n${contentText(message.content, Infinity)}\n`;
  });
  return text;
}

/** A prompt or an embedding input: a string, strings, or token ids (one or several sequences). */
function textOrTokens(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length > 0) {
    if (value.every((v) => typeof v === 'string')) return value.join('\n');
    // Token ids: four characters per token keeps the estimate in the units of text.
    if (value.every((v) => Number.isInteger(v))) return 'x'.repeat(value.length * 4);
    if (value.every((v) => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t))))
      return 'x'.repeat(value.reduce((n: number, v: unknown[]) => n + v.length, 0) * 4);
  }
  throw invalid(`'${name}' must be a string, an array of strings, or token ids.`, name);
}

export function readInferenceBody(endpoint: InferenceEndpoint, body: unknown): InferenceBody {
  if (!isRecord(body)) throw invalid('The request body must be a JSON object.', 'body');
  for (const name of upstreamSelectors)
    if (name in body)
      throw invalid(
        `'${name}' is not accepted: the platform chooses the model server from the model's deployments.`,
        name,
      );
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0)
    throw invalid("'model' is required and must be a string.", 'model');

  const stream = body.stream ?? false;
  if (typeof stream !== 'boolean') throw invalid("'stream' must be a boolean.", 'stream');
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isRecord(streamOptions))
    throw invalid("'stream_options' must be an object.", 'stream_options');
  if (endpoint === 'embeddings' && stream) throw invalid('Embeddings cannot be streamed.', 'stream');

  const maxTokens = positiveInteger(body, 'max_completion_tokens') ?? positiveInteger(body, 'max_tokens');
  const promptText =
    endpoint === 'chat/completions'
      ? chatPrompt(body)
      : textOrTokens(
          endpoint === 'completions' ? body.prompt : body.input,
          endpoint === 'completions' ? 'prompt' : 'input',
        );
  return {
    fields: body,
    model,
    stream,
    clientWantsUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
    maxTokens,
    promptText,
  };
}

/** A prompt's token count before the upstream has counted it: one token per four characters. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
