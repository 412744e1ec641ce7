// The OpenAPI description of /v1 (OpenAI's shapes). These schemas document; they do not validate:
// the body reader (inference-body.ts) checks the fields the gateway acts on and passes every other
// field to the upstream as it came (vLLM's extras), which a strict schema would refuse, and a full
// schema check would cost every request. Answers are the upstream's, relayed as they came.
import Type from 'typebox';

export const InferenceErrorBody = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String({ description: 'invalid_request_error, authentication_error, rate_limit_exceeded…' }),
      param: Type.Union([Type.String(), Type.Null()], { description: 'the request field at fault' }),
      code: Type.Union([Type.String(), Type.Null()], {
        description: 'stable: invalid_api_key, model_not_found, rate_limit_exceeded, upstream_unavailable…',
      }),
    }),
  },
  { description: "An error in OpenAI's shape, so SDKs surface it" },
);

/** Error responses of the inference routes, for a route's `response` map. */
export function inferenceErrors<const S extends number>(
  ...statuses: S[]
): Record<S, typeof InferenceErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, InferenceErrorBody])) as Record<
    S,
    typeof InferenceErrorBody
  >;
}

const open = { additionalProperties: true };
const Budget = Type.Integer({ minimum: 1, description: "at most the plan's cap; the cap when absent" });
const StreamOptions = Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, open);
const TextOrTokens = Type.Union([
  Type.String(),
  Type.Array(Type.String(), { minItems: 1 }),
  Type.Array(Type.Integer(), { minItems: 1 }),
  Type.Array(Type.Array(Type.Integer(), { minItems: 1 }), { minItems: 1 }),
]);

export const ChatCompletionRequest = Type.Object(
  {
    model: Type.String({ minLength: 1 }),
    messages: Type.Array(Type.Object({ role: Type.String(), content: Type.Optional(Type.Unknown()) }, open), {
      minItems: 1,
    }),
    stream: Type.Optional(Type.Boolean()),
    stream_options: Type.Optional(StreamOptions),
    max_tokens: Type.Optional(Budget),
    max_completion_tokens: Type.Optional(Budget),
  },
  { ...open, description: "OpenAI's chat completion request; other fields go to the model server unchanged" },
);

export const CompletionRequest = Type.Object(
  {
    model: Type.String({ minLength: 1 }),
    prompt: TextOrTokens,
    stream: Type.Optional(Type.Boolean()),
    stream_options: Type.Optional(StreamOptions),
    max_tokens: Type.Optional(Budget),
  },
  { ...open, description: "OpenAI's (legacy) completion request" },
);

export const EmbeddingRequest = Type.Object(
  { model: Type.String({ minLength: 1 }), input: TextOrTokens },
  { ...open, description: "OpenAI's embedding request" },
);

export const InferenceAnswer = Type.Object(
  { id: Type.Optional(Type.String()), object: Type.String(), model: Type.Optional(Type.String()) },
  {
    ...open,
    description:
      'The model server\'s answer as it came; with "stream": true, a text/event-stream of chunks ending in "data: [DONE]"',
  },
);

export const ModelObject = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
  context_length: Type.Integer(),
});

export const ModelList = Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelObject) });
