// The embedded object store: one file per object under a folder. Each file ends in '.object', so
// no key's file can collide with another key's folder. Writes go to a
// temporary file renamed into place, so a crash leaves the old object or the new one; deleting the
// last object of a folder removes the emptied folders, so no key's name outlives its object.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { checkObjectKey, type ObjectInfo, type ObjectStore } from './object-store.js';

const suffix = '.object';

export class FilesystemObjectStore implements ObjectStore {
  private readonly objects: string;
  private readonly partial: string;

  constructor(root: string) {
    this.objects = join(root, 'objects');
    this.partial = join(root, 'partial');
  }

  async put(key: string, body: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    await mkdir(this.partial, { recursive: true });
    const temporary = join(this.partial, randomUUID());
    await writeFile(temporary, body, { flush: true });
    await rename(temporary, path);
  }

  async get(key: string): Promise<Buffer | undefined> {
    return readFile(this.pathOf(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkObjectKey(prefix, { prefix: true });
    const found: ObjectInfo[] = [];
    // Only the folder the prefix names (or its parent, for a prefix that ends mid-segment) is read.
    const start = join(this.objects, prefix.endsWith('/') ? prefix : dirname(prefix));
    await this.walk(start, async (path) => {
      const key = relative(this.objects, path).split(sep).join('/').slice(0, -suffix.length);
      if (key.startsWith(prefix)) found.push({ key, size: (await stat(path)).size });
    });
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true });
      await this.pruneEmptyFolders(dirname(path));
    }
  }

  private pathOf(key: string): string {
    checkObjectKey(key);
    return join(this.objects, ...key.split('/')) + suffix;
  }

  private async walk(folder: string, visit: (path: string) => Promise<void>): Promise<void> {
    const entries = await readdir(folder, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
      throw err;
    });
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await this.walk(path, visit);
      else if (entry.name.endsWith(suffix)) await visit(path);
    }
  }

  private async pruneEmptyFolders(folder: string): Promise<void> {
    for (let current = folder; current.startsWith(this.objects + sep); current = dirname(current)) {
      try {
        await rmdir(current);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') return;
        if (code !== 'ENOENT') throw err;
      }
    }
  }
}
