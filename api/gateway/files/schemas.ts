// OpenAI's shape of a file, as far as Vlinders keeps it (the list and deletion shapes are shared with
// vector stores, ../vector-stores/schemas.ts).
import Type from 'typebox';
import { deleted, list } from '../vector-stores/schemas.js';

export const FileParams = Type.Object({ file_id: Type.String({ maxLength: 64 }) });

export const FileListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
    after: Type.Optional(Type.String({ maxLength: 64 })),
    purpose: Type.Optional(Type.Union([Type.Literal('assistants'), Type.Literal('user_data')])),
  },
  { additionalProperties: false },
);

export const File = Type.Object({
  id: Type.String(),
  object: Type.Literal('file'),
  bytes: Type.Integer(),
  created_at: Type.Integer(),
  expires_at: Type.Null(),
  filename: Type.String(),
  purpose: Type.String(),
  status: Type.Literal('processed'),
});

export const FileList = list(File);
export const FileDeleted = deleted('file');
