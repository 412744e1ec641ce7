// A tenant's objects: every key under `orgs/<orgId>/`, every object sealed with AES-256-GCM under a
// key derived from the tenant's data key (runtime/data-keys.ts). So a tenant reaches only its own
// prefix, an object copied to another tenant's prefix or altered fails to open, and destroying the
// tenant's data key (GDPR erasure) makes every copy unreadable, backups included.
//
// A sealed object carries what the platform needs to read it, so no S3 metadata is relied on:
//   "VLO1" | header length (u32, big-endian) | header (JSON) | ciphertext | GCM tag (16 bytes)
// The header (key id, IV, content type, expiry) and the object's key are the cipher's associated
// data: neither can change without the object failing to open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { isOrgId, tenantKeyId, type DataKey } from '../../runtime/data-keys.js';
import { ObjectKeyError, ObjectTooLargeError, type ObjectStore } from './object-store.js';

/** The data keys a tenant's objects are sealed with: DataKeyStore, or anything that answers like it. */
export interface TenantDataKeys {
  forEncrypting(orgId: string): Promise<DataKey>;
  forDecrypting(keyId: string): Promise<DataKey>;
}

export interface TenantObject {
  body: Buffer;
  contentType: string;
  /** After this the object reads as missing (export archives expire). */
  expiresAt?: Date;
}

interface Header {
  /** The data key id, `org:<orgId>`. */
  key: string;
  iv: string;
  type: string;
  expires?: string;
}

/** An object under a tenant's prefix that does not open with that tenant's key: altered or moved. */
export class ObjectIntegrityError extends Error {}

const magic = Buffer.from('VLO1');
const tagLength = 16;

export class ObjectStorage {
  constructor(
    private readonly store: ObjectStore,
    private readonly keys: TenantDataKeys,
    private readonly maxBytes: number,
  ) {}

  forTenant(orgId: string): TenantObjects {
    if (!isOrgId(orgId)) throw new ObjectKeyError(`not an organization id: ${JSON.stringify(orgId)}`);
    return new TenantObjects(this.store, this.keys, this.maxBytes, orgId);
  }

  close(): void {
    this.store.close?.();
  }
}

export class TenantObjects {
  /** Where this tenant's objects live in the store. */
  readonly prefix: string;

  constructor(
    private readonly store: ObjectStore,
    private readonly keys: TenantDataKeys,
    private readonly maxBytes: number,
    private readonly orgId: string,
  ) {
    this.prefix = `orgs/${orgId}/`;
  }

  async put(name: string, body: Buffer, options: { contentType: string; expiresAt?: Date }): Promise<void> {
    const key = this.keyOf(name);
    if (body.length > this.maxBytes) throw new ObjectTooLargeError(key, body.length, this.maxBytes);
    const dataKey = await this.keys.forEncrypting(this.orgId);
    const iv = randomBytes(12);
    const header = Buffer.from(
      JSON.stringify({
        key: dataKey.id,
        iv: iv.toString('base64'),
        type: options.contentType,
        ...(options.expiresAt && { expires: options.expiresAt.toISOString() }),
      } satisfies Header),
    );
    const cipher = createCipheriv('aes-256-gcm', objectKeyOf(dataKey), iv);
    cipher.setAAD(associatedData(key, header));
    const ciphertext = Buffer.concat([cipher.update(body), cipher.final()]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    await this.store.put(key, Buffer.concat([magic, length, header, ciphertext, cipher.getAuthTag()]));
  }

  /** The object, or undefined when there is none or it has expired. */
  async get(name: string, now = new Date()): Promise<TenantObject | undefined> {
    const key = this.keyOf(name);
    const sealed = await this.store.get(key);
    if (!sealed) return undefined;
    const { header, headerBytes, ciphertext, tag } = this.parse(key, sealed);
    if (header.expires && new Date(header.expires) <= now) return undefined;
    // A destroyed key throws DataKeyUnavailableError: the object is shredded.
    const dataKey = await this.keys.forDecrypting(header.key);
    const decipher = createDecipheriv('aes-256-gcm', objectKeyOf(dataKey), Buffer.from(header.iv, 'base64'));
    decipher.setAAD(associatedData(key, headerBytes));
    decipher.setAuthTag(tag);
    try {
      const body = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      return {
        body,
        contentType: header.type,
        ...(header.expires && { expiresAt: new Date(header.expires) }),
      };
    } catch {
      throw new ObjectIntegrityError(`object ${key} does not open with its tenant's key: altered or moved`);
    }
  }

  /** The tenant's objects whose names start with the prefix: names relative to the tenant. */
  async list(prefix = ''): Promise<{ name: string; size: number }[]> {
    const found = await this.store.list(this.prefix + prefix);
    return found.map(({ key, size }) => ({ name: key.slice(this.prefix.length), size }));
  }

  async delete(names: string[]): Promise<void> {
    await this.store.delete(names.map((name) => this.keyOf(name)));
  }

  /** Deletes every object of the tenant; answers how many there were. */
  async deleteAll(): Promise<number> {
    const found = await this.store.list(this.prefix);
    await this.store.delete(found.map((o) => o.key));
    return found.length;
  }

  private keyOf(name: string): string {
    if (name === '' || name.startsWith('/'))
      throw new ObjectKeyError(`object name ${JSON.stringify(name)} is empty or absolute`);
    return this.prefix + name;
  }

  private parse(key: string, sealed: Buffer) {
    const broken = () => new ObjectIntegrityError(`object ${key} is not a sealed Vlinders object`);
    if (sealed.length < magic.length + 4 + tagLength || !sealed.subarray(0, 4).equals(magic)) throw broken();
    const headerEnd = 8 + sealed.readUInt32BE(4);
    if (headerEnd + tagLength > sealed.length) throw broken();
    const headerBytes = sealed.subarray(8, headerEnd);
    let header: Header;
    try {
      header = JSON.parse(headerBytes.toString()) as Header;
    } catch {
      throw broken();
    }
    // Only this tenant's key may open objects under its prefix.
    if (header.key !== tenantKeyId(this.orgId)) {
      throw new ObjectIntegrityError(`object ${key} was not sealed for this tenant`);
    }
    return {
      header,
      headerBytes,
      ciphertext: sealed.subarray(headerEnd, sealed.length - tagLength),
      tag: sealed.subarray(sealed.length - tagLength),
    };
  }
}

/** The objects' own key, derived from the tenant's data key so the payload codec's key is never reused as is. */
function objectKeyOf(dataKey: DataKey): Buffer {
  return Buffer.from(
    hkdfSync('sha256', dataKey.key, Buffer.alloc(0), Buffer.from('vlinders/objects/v1'), 32),
  );
}

function associatedData(key: string, header: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${key}\n`), header]);
}
