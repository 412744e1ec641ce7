// The Temporal codec-server protocol: payloads as JSON, metadata values and data in base64.
import Type from 'typebox';

const base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 4_194_304 });

export const CodecPayload = Type.Object(
  {
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), base64)),
    data: Type.Optional(base64),
  },
  { additionalProperties: false },
);

export const CodecBody = Type.Object(
  { payloads: Type.Array(CodecPayload, { maxItems: 1000 }) },
  { additionalProperties: false },
);

export const CodecHeaders = Type.Object({
  'x-namespace': Type.Optional(Type.String({ maxLength: 256, description: 'namespace the UI is showing' })),
});
