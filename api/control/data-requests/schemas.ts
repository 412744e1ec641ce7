import Type from 'typebox';
import { Timestamp, Uuid } from '../../common-schemas.js';

export const DataRequestParams = Type.Object(
  { orgId: Uuid, requestId: Uuid },
  { additionalProperties: false },
);

export const ArchiveFileParams = Type.Object(
  {
    orgId: Uuid,
    requestId: Uuid,
    file: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
  },
  { additionalProperties: false },
);

const Scope = Type.Union([Type.Literal('person'), Type.Literal('organization')], {
  description: "person: the caller's own data; organization: the whole organization's (owners)",
});

const Kind = Type.Union([Type.Literal('export'), Type.Literal('erasure')], {
  description:
    'export: an archive of the data, to download; erasure: the data erased or anonymised in every store, after a grace period in which it can be cancelled',
});

export const CreateDataRequestBody = Type.Object(
  { kind: Kind, scope: Scope },
  { additionalProperties: false },
);

const ErasureOutcome = Type.Object({
  store: Type.String(),
  action: Type.Union([
    Type.Literal('erased'),
    Type.Literal('anonymised'),
    Type.Literal('kept'),
    Type.Literal('none'),
  ]),
  counts: Type.Record(Type.String(), Type.Integer()),
  note: Type.Optional(Type.String()),
});

const ArchiveFile = Type.Object({
  name: Type.String(),
  bytes: Type.Integer(),
  sha256: Type.String({ description: 'SHA-256 of the file as downloaded' }),
});

export const DataRequest = Type.Object({
  id: Uuid,
  kind: Kind,
  scope: Scope,
  subjectUserId: Type.Union([Uuid, Type.Null()]),
  requestedBy: Type.Union([Uuid, Type.Null()]),
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('expired'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
    Type.Literal('blocked'),
  ]),
  requestedAt: Timestamp,
  dueAt: Timestamp,
  overdueAt: Type.Union([Timestamp, Type.Null()]),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  archiveExpiresAt: Type.Union([Timestamp, Type.Null()]),
  manifestSha256: Type.Union([Type.String(), Type.Null()]),
  /** An export, completed and not expired: the archive's files, the manifest first. */
  files: Type.Array(ArchiveFile),
  /** An erasure: until then it can be cancelled. */
  graceEndsAt: Type.Union([Timestamp, Type.Null()]),
  /** An erasure a legal hold blocked: the hold's reason. */
  blockedReason: Type.Union([Type.String(), Type.Null()]),
  /** A completed erasure: what was done in each store, as its tombstone records it. */
  erasure: Type.Union([
    Type.Object({ subjectSha256: Type.String(), stores: Type.Array(ErasureOutcome) }),
    Type.Null(),
  ]),
});
export const DataRequestList = Type.Object({ items: Type.Array(DataRequest) });
