// /v1/files: OpenAI's files API, for the official SDKs: what a tenant uploads for its vector stores.
// The key was checked by the scope's hook (gateway/index.ts); what it may do is decided by the
// service (files.ts).
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { FilePurpose } from '../../../db/schema/index.js';
import { InferenceError } from '../../errors.js';
import { inferenceKeyOf } from '../inference-key.js';
import { inferenceErrors } from '../schemas.js';
import { File, FileDeleted, FileList, FileListQuery, FileParams } from './schemas.js';
import { deleteFile, getFile, getFileContent, listFiles, uploadFile, type FileDeps } from './files.js';

const security = [{ bearer: [] }];
const fileTags = ['files'];
const purposes: readonly FilePurpose[] = ['assistants', 'user_data'];

const fileRoutes: FastifyPluginAsyncTypebox<{ deps: FileDeps }> = async (app, { deps }) => {
  await app.register(multipart, {
    limits: { fileSize: app.config.FILE_MAX_BYTES, files: 1, fields: 4, fieldSize: 1024, parts: 5 },
  });

  app.post(
    '/files',
    {
      schema: {
        tags: fileTags,
        summary: 'Upload a file (multipart/form-data: file, purpose)',
        security,
        consumes: ['multipart/form-data'],
        response: { 200: File, ...inferenceErrors(400, 401, 403, 413, 415) },
      },
    },
    async (request) => {
      const key = inferenceKeyOf(request);
      if (!request.isMultipart())
        throw new InferenceError(
          'UNSUPPORTED_MEDIA_TYPE',
          'invalid_request',
          'Upload the file as multipart/form-data.',
        );
      let file: { filename: string; contentType: string; body: Buffer } | undefined;
      let purpose: string | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file') {
            if (part.fieldname !== 'file' || file) {
              await part.toBuffer();
              throw new InferenceError(
                'VALIDATION',
                'invalid_request',
                'Send one file, in the field `file`.',
                {
                  param: 'file',
                },
              );
            }
            file = { filename: part.filename, contentType: part.mimetype, body: await part.toBuffer() };
          } else if (part.fieldname === 'purpose') purpose = String(part.value);
        }
      } catch (err) {
        if (err instanceof InferenceError) throw err;
        if (err instanceof app.multipartErrors.RequestFileTooLargeError)
          throw new InferenceError(
            'PAYLOAD_TOO_LARGE',
            'file_too_large',
            `A file may have at most ${app.config.FILE_MAX_BYTES} bytes.`,
            { param: 'file' },
          );
        throw new InferenceError(
          'VALIDATION',
          'invalid_request',
          `The upload is malformed: ${(err as Error).message}`,
        );
      }
      if (!file)
        throw new InferenceError(
          'VALIDATION',
          'missing_required_parameter',
          'The field `file` is required.',
          { param: 'file' },
        );
      if (!purposes.includes(purpose as FilePurpose))
        throw new InferenceError(
          'VALIDATION',
          'invalid_value',
          `purpose must be one of: ${purposes.join(', ')}.`,
          {
            param: 'purpose',
          },
        );
      const filename = file.filename.trim();
      if (filename.length === 0 || filename.length > 255 || filename.includes('\u0000'))
        throw new InferenceError(
          'VALIDATION',
          'invalid_value',
          'The file name must have 1 to 255 characters.',
          {
            param: 'file',
          },
        );
      return uploadFile(deps, key, {
        filename,
        purpose: purpose as FilePurpose,
        contentType: file.contentType,
        body: file.body,
      });
    },
  );

  app.get(
    '/files',
    {
      schema: {
        tags: fileTags,
        summary: "List the organization's files",
        security,
        querystring: FileListQuery,
        response: { 200: FileList, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) => listFiles(deps, inferenceKeyOf(request), request.query),
  );

  app.get(
    '/files/:file_id',
    {
      schema: {
        tags: fileTags,
        summary: 'Show a file',
        security,
        params: FileParams,
        response: { 200: File, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) => getFile(deps, inferenceKeyOf(request), request.params.file_id),
  );

  app.get(
    '/files/:file_id/content',
    {
      schema: {
        tags: fileTags,
        summary: "A file's bytes",
        security,
        params: FileParams,
        response: {
          200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: "the file's bytes" }),
          ...inferenceErrors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const content = await getFileContent(deps, inferenceKeyOf(request), request.params.file_id);
      return reply
        .type(content.contentType)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(content.filename)}`)
        .header('x-content-type-options', 'nosniff')
        .send(content.body);
    },
  );

  app.delete(
    '/files/:file_id',
    {
      schema: {
        tags: fileTags,
        summary: 'Delete a file, and take it out of every vector store',
        security,
        params: FileParams,
        response: { 200: FileDeleted, ...inferenceErrors(400, 401, 403, 404) },
      },
    },
    async (request) => deleteFile(deps, inferenceKeyOf(request), request.params.file_id),
  );
};

export default fileRoutes;
