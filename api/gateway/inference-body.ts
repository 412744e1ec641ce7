// Reads an inference request body (chat completions, completions, embeddings) as OpenAI defines
// it: the fields the gateway acts on are checked, every other field travels to the upstream as it
// came (vLLM's extra sampling and guided-decoding parameters). No field can choose the upstream:
// names that other gateways read as an upstream address are refused outright (the LLM-gateway SSRF
// class, CVE-2024-6587, CVE-2025-66405); the upstream comes from the model registry only.
import { InferenceError } from '../errors.js';

export type InferenceEndpoint = 'chat/completions' | 'completions' | 'embeddings';

export interface InferenceBody {
  /** The body as the client sent it; the upstream's copy is built by upstreamBody. */
  fields: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** Whether the client asked for the usage chunk at the end of a stream. */
  clientWantsUsage: boolean;
  /** The completion budget the client asked for (max_tokens or max_completion_tokens), if any. */
  maxTokens: number | null;
  /** The prompt's size in characters (a token id counts four), for the token estimate. */
  promptChars: number;
  /**
   * The prompt's leading characters, which the router hashes onto a deployment's replicas so that
   * requests sharing a system prompt or a conversation's opening reach the replica whose vLLM
   * prefix cache holds it. At most `affinityChars`, so its cost does not grow with the prompt.
   */
  affinityKey: string;
}

export const affinityChars = 256;

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

/** The prompt's size and affinity key, gathered in the one pass that checks its shape. */
interface PromptScan {
  chars: number;
  key: string;
}

/** Appends to an affinity key, never beyond `affinityChars`. */
function extend(key: string, text: string): string {
  return key.length >= affinityChars ? key : key + text.slice(0, affinityChars - key.length);
}

/** A message's content: a string, or the text parts of a content array (images and the like count nothing). */
function scanContent(content: unknown, scan: PromptScan): void {
  if (typeof content === 'string') {
    scan.chars += content.length;
    scan.key = extend(scan.key, content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    const text = (part as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') continue;
    scan.chars += text.length;
    scan.key = extend(scan.key, text);
  }
}

/** Chat messages: each `role: content` line counts, and the leading ones make the key. */
function scanMessages(messages: unknown): PromptScan {
  if (!Array.isArray(messages) || messages.length === 0)
    throw invalid("'messages' must be a non-empty array of messages.", 'messages');
  const scan = { chars: 0, key: '' };
  messages.forEach((message, i) => {
    if (!isRecord(message) || typeof message.role !== 'string')
      throw invalid(`'messages[${i}]' must be an object with a string 'role'.`, `messages[${i}]`);
    scan.chars += message.role.length + 2;
    scan.key = extend(scan.key, `${message.role}: `);
    scanContent(message.content, scan);
    scan.key = extend(scan.key, '\n');
  });
  return scan;
}

/** Token ids as an affinity key: `1,2,3,`. */
function tokenKey(tokens: readonly unknown[]): string {
  let key = '';
  for (const token of tokens) {
    if (key.length >= affinityChars) break;
    key += `${String(token)},`;
  }
  return key.slice(0, affinityChars);
}

const isTokenList = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((t) => Number.isInteger(t));

/**
 * A prompt or an embedding input: a string, strings, or token ids (one or several sequences). Token
 * ids count four characters each, to keep the estimate in the units of text; the key is the first
 * prompt's.
 */
function scanTextOrTokens(value: unknown, name: string): PromptScan {
  if (typeof value === 'string') return { chars: value.length, key: value.slice(0, affinityChars) };
  if (Array.isArray(value) && value.length > 0) {
    if (value.every((v) => typeof v === 'string')) {
      const chars = value.reduce((n: number, v: string) => n + v.length, value.length - 1);
      return { chars, key: (value[0] as string).slice(0, affinityChars) };
    }
    if (isTokenList(value)) return { chars: value.length * 4, key: tokenKey(value) };
    if (value.every(isTokenList)) {
      const tokens = value.reduce((n: number, v: number[]) => n + v.length, 0);
      return { chars: tokens * 4, key: tokenKey(value[0] as number[]) };
    }
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
  const prompt =
    endpoint === 'chat/completions'
      ? scanMessages(body.messages)
      : endpoint === 'completions'
        ? scanTextOrTokens(body.prompt, 'prompt')
        : scanTextOrTokens(body.input, 'input');
  return {
    fields: body,
    model,
    stream,
    clientWantsUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
    maxTokens,
    promptChars: prompt.chars,
    affinityKey: prompt.key,
  };
}

/**
 * The body an upstream gets: the client's fields with the deployment's model name, the budget when
 * the client set none, and usage always asked for in a stream (the relay hides the extra chunk from
 * a client that did not ask).
 */
export function upstreamBody(body: InferenceBody, upstreamModel: string, budget: number | null): string {
  const fields: Record<string, unknown> = { ...body.fields, model: upstreamModel };
  if (budget !== null && body.maxTokens === null) fields.max_tokens = budget;
  if (body.stream && !body.clientWantsUsage)
    fields.stream_options = { ...(body.fields.stream_options as object | undefined), include_usage: true };
  return JSON.stringify(fields);
}

/** A prompt's token count before the upstream has counted it: one token per four characters. */
export function estimatePromptTokens(body: InferenceBody): number {
  return Math.ceil(body.promptChars / 4);
}
