// Recorded workflow histories for replay tests, stored as protobufjs's JSON object form. (The SDK's
// historyToJSON/historyFromJSON fail in this install: @temporalio/common and @temporalio/proto
// each carry their own protobufjs copy, so its protojson type checks reject the other's types.)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// CommonJS package: Node's ESM loader sees only its default export.
import proto from '@temporalio/proto';
import { repoRoot } from '../support/services.js';

const History = proto.temporal.api.history.v1.History;
export const historiesDir = join(repoRoot, 'test/fixtures/histories');

export function saveHistory(name: string, history: proto.temporal.api.history.v1.IHistory): void {
  const json = History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String });
  writeFileSync(join(historiesDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
}

export function loadHistory(name: string): proto.temporal.api.history.v1.History {
  return History.fromObject(
    JSON.parse(readFileSync(join(historiesDir, `${name}.json`), 'utf8')) as Record<string, unknown>,
  );
}
