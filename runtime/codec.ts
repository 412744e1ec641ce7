// The PayloadCodec of every Temporal client and worker: each payload is encrypted with AES-256-GCM
// under its tenant's data key, the key id in the payload's metadata. The codec sees no workflow
// context, so the tenant comes from the payload itself: a JSON object with a string `orgId` (the
// convention in workflows/definitions.ts) uses that tenant's key, anything else the platform key.
import { fileURLToPath } from 'node:url';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
// CommonJS package: Node's ESM loader sees only its default export.
import proto from '@temporalio/proto';
import type { Db } from '../db/client.js';
import type { Config } from './config.js';
import { DataKeyStore } from './data-keys.js';
import { decrypt, encrypt, masterKeyFromConfig } from './envelope.js';

export const encryptedEncoding = 'binary/encrypted';
export const keyIdMetadataKey = 'encryption-key-id';

const text = {
  encode: (s: string) => new TextEncoder().encode(s),
  decode: (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined),
};

/** The tenant a payload belongs to: the string `orgId` of a JSON object payload, if any. */
export function payloadOrgId(payload: Payload): string | undefined {
  if (text.decode(payload.metadata?.[METADATA_ENCODING_KEY]) !== 'json/plain' || !payload.data)
    return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.decode(payload.data) ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const orgId = (value as { orgId?: unknown }).orgId;
  return typeof orgId === 'string' ? orgId.toLowerCase() : undefined;
}

export class TenantPayloadCodec implements PayloadCodec {
  constructor(readonly keys: DataKeyStore) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        const orgId = payloadOrgId(payload);
        const { id, key } = await (orgId === undefined
          ? this.keys.forPlatform()
          : this.keys.forEncrypting(orgId));
        const keyId = Buffer.from(id);
        // The key id is associated data: relabelling a payload with another key fails to decrypt.
        const sealed = encrypt(
          key,
          Buffer.from(proto.temporal.api.common.v1.Payload.encode(payload).finish()),
          keyId,
        );
        return {
          metadata: { [METADATA_ENCODING_KEY]: text.encode(encryptedEncoding), [keyIdMetadataKey]: keyId },
          data: Buffer.concat([sealed.iv, sealed.tag, sealed.ciphertext]),
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        if (text.decode(payload.metadata?.[METADATA_ENCODING_KEY]) !== encryptedEncoding) return payload;
        const keyId = text.decode(payload.metadata?.[keyIdMetadataKey]);
        const data = payload.data;
        if (!keyId || !data || data.length < 28)
          throw new Error('encrypted payload without a key id or data');
        const { key } = await this.keys.forDecrypting(keyId);
        const bytes = Buffer.from(data);
        const plain = decrypt(
          key,
          { iv: bytes.subarray(0, 12), tag: bytes.subarray(12, 28), ciphertext: bytes.subarray(28) },
          Buffer.from(keyId),
        );
        return proto.temporal.api.common.v1.Payload.decode(plain);
      }),
    );
  }
}

/** Loaded by path in clients and workers (see the file for why it is a path). */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** The data converter of every Temporal client and worker: encrypted payloads and failures. */
export function createDataConverter(config: Pick<Config, 'MASTER_KEY' | 'MASTER_KEY_ID'>, db: Db) {
  return { payloadCodecs: [createPayloadCodec(config, db)], failureConverterPath };
}

export function createPayloadCodec(
  config: Pick<Config, 'MASTER_KEY' | 'MASTER_KEY_ID'>,
  db: Db,
): TenantPayloadCodec {
  return new TenantPayloadCodec(new DataKeyStore(db, masterKeyFromConfig(config)));
}
