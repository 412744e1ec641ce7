// A deployment's upstream key, as operators see it: written, rotated and removed, never read back
// (only its last four characters and its times).
import Type from 'typebox';
import { Timestamp, Uuid } from '../../common-schemas.js';

/** Printable ASCII without spaces: it travels in an HTTP header as `Bearer <key>`. */
export const upstreamKeyPattern = '^[\\x21-\\x7e]+$';
const UpstreamKeyValue = Type.String({
  minLength: 16,
  maxLength: 4096,
  pattern: upstreamKeyPattern,
  description: 'the API key the upstream expects as `Authorization: Bearer <key>` (write-only)',
});
export const minGraceSeconds = 60;
export const maxGraceSeconds = 7 * 24 * 3600;
export const defaultGraceSeconds = 3600;

export const UpstreamKeyParams = Type.Object(
  { modelId: Uuid, deploymentId: Uuid },
  { additionalProperties: false },
);

export const SetUpstreamKeyBody = Type.Object({ key: UpstreamKeyValue }, { additionalProperties: false });

export const RotateUpstreamKeyBody = Type.Object(
  {
    key: UpstreamKeyValue,
    graceSeconds: Type.Optional(
      Type.Integer({
        minimum: minGraceSeconds,
        maximum: maxGraceSeconds,
        description: `how long the previous key is still tried after the upstream refuses the new one (default ${defaultGraceSeconds})`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const UpstreamKey = Type.Object({
  deploymentId: Uuid,
  current: Type.Union([Type.Object({ lastFour: Type.String(), createdAt: Timestamp }), Type.Null()]),
  previous: Type.Union([
    Type.Object({ lastFour: Type.String(), createdAt: Timestamp, graceUntil: Timestamp }),
    Type.Null(),
  ]),
});
