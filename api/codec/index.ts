// The codec endpoint the Temporal UI calls to show operators decoded payloads (and to encode what
// they send). Only platform operators may use it (the policy's action 'codec.use'): anyone else
// gets 401 (no or bad token) or 403 (a signed-in user who is not an operator). The only browser
// that calls it is the Temporal UI: CORS answers its origin alone (TEMPORAL_UI_ORIGIN), with the
// UI's credentials and namespace header. Registered by app.ts with the prefix '/codec'.
import cors from '@fastify/cors';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Payload } from '@temporalio/common';
import type { FastifyRequest } from 'fastify';
import { createPayloadCodec } from '../../runtime/codec.js';
import { DataKeyUnavailableError } from '../../runtime/data-keys.js';
import { AppError } from '../errors.js';
import { CodecBody, CodecHeaders } from './schemas.js';
import { errors } from '../common-schemas.js';

type WirePayload = { metadata?: Record<string, string>; data?: string };

function fromWire(p: WirePayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
    ),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toWire(p: Payload): WirePayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

const codecRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const codec = createPayloadCodec(app.config, app.db);
  await app.register(cors, {
    hook: 'onRequest',
    origin: [app.config.TEMPORAL_UI_ORIGIN],
    methods: ['POST'],
    allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
    credentials: true,
    maxAge: 600,
  });

  // The policy decides; a CORS preflight carries no credentials.
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.method === 'OPTIONS') return;
    await app.authenticate(request);
    await app.authorizeOrg(request);
  });

  const route = (summary: string) => ({
    config: { access: 'codec.use' as const },
    schema: {
      tags: ['codec'],
      summary,
      security: [{ bearer: [] }],
      headers: CodecHeaders,
      body: CodecBody,
      response: { 200: CodecBody, ...errors(400, 401, 403) },
    },
  });

  app.post('/encode', route('Encrypt payloads (Temporal codec server)'), async (request) => {
    try {
      const encoded = await codec.encode(request.body.payloads.map(fromWire));
      return { payloads: encoded.map(toWire) };
    } catch (err) {
      if (err instanceof DataKeyUnavailableError) throw new AppError('VALIDATION', err.message);
      throw err;
    }
  });

  app.post('/decode', route('Decrypt payloads (Temporal codec server)'), async (request) => {
    // One payload at a time: a shredded or damaged payload comes back as it was (still
    // encrypted), so the rest of a history stays readable.
    const payloads = await Promise.all(
      request.body.payloads.map(async (wire) => {
        const [decoded] = await codec.decode([fromWire(wire)]).catch((err: unknown) => {
          request.log.warn({ err }, 'payload could not be decoded');
          return [undefined];
        });
        return decoded ? toWire(decoded) : wire;
      }),
    );
    return { payloads };
  });
};

export default codecRoutes;
