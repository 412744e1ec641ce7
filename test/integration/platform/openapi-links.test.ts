// The OpenAPI document's links lead somewhere: each names an operation the document has, fills
// exactly that operation's path parameters, and takes each value from a field the source response
// has or a parameter the source request has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { links, operationRef } from '../../../api/plugins/openapi-links.js';
import { buildTestApp, type TestApp } from '../../support/app.js';

interface Operation {
  parameters?: { name: string; in: string }[];
  responses: Record<
    string,
    {
      links?: Record<string, { operationRef: string; parameters: Record<string, string> }>;
      content?: Record<string, { schema: { properties?: Record<string, unknown> } }>;
    }
  >;
}
type Document = { paths: Record<string, Record<string, Operation>> };

let t: TestApp;
let doc: Document;
beforeAll(async () => {
  t = await buildTestApp();
  // Over HTTP, as a client reads it: the links must survive serialisation.
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<Document>();
});
afterAll(async () => {
  await t?.close();
});

function operation(spelled: string): Operation | undefined {
  const [method = '', path = ''] = spelled.split(' ');
  return doc.paths[path]?.[method.toLowerCase()];
}

const pathParameters = (op: Operation | undefined) =>
  (op?.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);

describe.each(links.map((link) => [`${link.from} → ${link.name}`, link] as const))('%s', (_name, link) => {
  it('is in the document, on the source response, pointing at the target operation', () => {
    const served = operation(link.from)?.responses[String(link.status)]?.links?.[link.name];
    expect(served).toEqual({ operationRef: operationRef(link.to), parameters: link.parameters });
    expect(operation(link.to)).toBeDefined();
  });

  it("fills exactly the target's path parameters", () => {
    expect(Object.keys(link.parameters).sort()).toEqual(pathParameters(operation(link.to)).sort());
  });

  it('takes each value from the source response body or the source request path', () => {
    const source = operation(link.from);
    const body = source?.responses[String(link.status)]?.content?.['application/json']?.schema;
    for (const expression of Object.values(link.parameters)) {
      const field = /^\$response\.body#\/(\w+)$/.exec(expression)?.[1];
      const param = /^\$request\.path\.(\w+)$/.exec(expression)?.[1];
      if (field) expect(Object.keys(body?.properties ?? {})).toContain(field);
      else if (param) expect(pathParameters(source)).toContain(param);
      else expect.fail(`${expression} is neither a response field nor a request path parameter`);
    }
  });
});

it('every creating route (a 201) links to what it created', () => {
  const creating = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([, op]) => op.responses['201'])
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
  const linked = new Set(links.map((l) => l.from));
  expect(creating.filter((op) => !linked.has(op as (typeof links)[number]['from']))).toEqual([]);
});
