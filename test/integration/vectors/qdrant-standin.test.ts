// The Qdrant stand-in is only as good as its check against Qdrant's OpenAPI document: planted
// violations, in what a client sends and in what the stand-in would answer, must fail loudly.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  standinDir,
  standinPython,
  startQdrantStandin,
  type QdrantStandin,
} from '../../support/qdrant-standin.js';

let standin: QdrantStandin;
beforeAll(async () => {
  standin = await startQdrantStandin();
});
afterAll(async () => {
  await standin?.stop();
});

async function send(method: string, path: string, body?: unknown) {
  const res = await fetch(`${standin.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, error: ((await res.json()) as { status?: { error?: string } }).status?.error };
}

describe("the Qdrant stand-in's OpenAPI check", () => {
  it('serves a conforming request', async () => {
    expect(await send('PUT', '/collections/checked', { vectors: { size: 2, distance: 'Cosine' } })).toEqual({
      status: 200,
      error: undefined,
    });
  });

  it('answers 500 with the violation to a malformed body, a bad query parameter and an unknown path', async () => {
    const upsert = '/collections/checked/points';
    const planted = [
      { request: await send('PUT', `${upsert}?wait=true`, { points: 'not a list' }), names: /request PUT/ },
      {
        request: await send('PUT', `${upsert}?wait=true`, {
          points: [{ id: { not: 'an id' }, vector: [1, 0] }],
        }),
        names: /request PUT/,
      },
      { request: await send('PUT', `${upsert}?wait=maybe`, { points: [] }), names: /wait/ },
      { request: await send('POST', '/collections/checked/points/frobnicate', {}), names: /frobnicate/ },
    ];
    for (const { request, names } of planted) {
      expect(request.status).toBe(500);
      expect(request.error).toMatch(/Qdrant stand-in: .*violates Qdrant's OpenAPI document/);
      expect(request.error).toMatch(names);
    }
    // Its stderr may arrive after the answers.
    await expect.poll(() => standin.violations()).toHaveLength(planted.length);
  });

  it('refuses, as a violation, an answer that does not conform', () => {
    // The stand-in runs this same check on every answer before it sends it.
    const plant = `
import json
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response
from openapi_check import Violation, check_answer, load_document
request = Request(EnvironBuilder(method="POST", base_url="http://127.0.0.1:6333", path="/collections/c/points/count", json={}).get_environ())
answer = Response(json.dumps({"result": {"count": -1}, "status": "ok", "time": 0}), mimetype="application/json")
try:
    check_answer(load_document(), request, answer)
except Violation as violation:
    print(violation)
`;
    const out = execFileSync(standinPython, ['-c', plant], { cwd: standinDir }).toString();
    expect(out).toMatch(
      /answer 200 to POST \/collections\/c\/points\/count violates Qdrant's OpenAPI document/,
    );
    expect(out).toMatch(/at \/result\/count: -1 is less than the minimum of 0/);
  });
});
