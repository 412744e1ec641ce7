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

export const CreateDataRequestBody = Type.Object(
  { kind: Type.Literal('export'), scope: Scope },
  { additionalProperties: false },
);

const ArchiveFile = Type.Object({
  name: Type.String(),
  bytes: Type.Integer(),
  sha256: Type.String({ description: 'SHA-256 of the file as downloaded' }),
});

export const DataRequest = Type.Object({
  id: Uuid,
  kind: Type.Literal('export'),
  scope: Scope,
  subjectUserId: Type.Union([Uuid, Type.Null()]),
  requestedBy: Type.Union([Uuid, Type.Null()]),
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('expired'),
    Type.Literal('failed'),
  ]),
  requestedAt: Timestamp,
  dueAt: Timestamp,
  overdueAt: Type.Union([Timestamp, Type.Null()]),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  archiveExpiresAt: Type.Union([Timestamp, Type.Null()]),
  manifestSha256: Type.Union([Type.String(), Type.Null()]),
  /** Completed and not expired: the archive's files, the manifest first. */
  files: Type.Array(ArchiveFile),
});
export const DataRequestList = Type.Object({ items: Type.Array(DataRequest) });
