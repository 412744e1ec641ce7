// Schemathesis fuzzes every operation of the OpenAPI document against the real app, signed in as
// an org owner: no answer may be a 5xx, and every answer must match its documented schema.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../support/app.js';
import { repoRoot } from '../support/services.js';
import { bearer, seedActiveOrg, signUp, useAdminPool } from '../integration/api/helpers.js';

const t = useTestApp();
const admin = useAdminPool();
const schemathesis = join(repoRoot, '.tools/schemathesis/bin/schemathesis');

describe('OpenAPI fuzz (schemathesis)', () => {
  it('finds no server error and no answer outside the documented schema', { timeout: 600_000 }, async () => {
    const owner = await signUp(t.app, 'fuzz-owner');
    const orgId = await seedActiveOrg(admin, owner, 'Fuzz Org');
    // Path parameters point at a real org, so the fuzzer reaches past 404 into the handlers.
    const configFile = join(mkdtempSync(join(tmpdir(), 'vlinders-fuzz-')), 'schemathesis.toml');
    writeFileSync(configFile, `[parameters]\n"path.orgId" = "${orgId}"\n`);
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const run = await promisify(execFile)(
      schemathesis,
      [
        'run',
        `${address}/openapi.json`,
        '--checks',
        'not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance',
        '--header',
        `Authorization: ${bearer(owner).authorization}`,
        '--max-examples',
        '25',
        '--phases',
        'examples,coverage,fuzzing',
        '--workers',
        '1',
        '--seed',
        '1',
      ],
      // Its own cache (.schemathesis/) goes to the scratch folder, not the checkout.
      { maxBuffer: 16 * 1024 * 1024, cwd: dirname(configFile) },
    ).catch((err: { stdout: string; stderr: string; code: number }) => err);
    // The summary (operations, cases generated) belongs in the test output; on failure, all of it.
    // Its pytest-style '==== N warnings in 48s ====' rule lines are dropped: CI reads such a line as
    // a pytest run's closing line (and one without a pass count as a run of no test).
    console.log(
      'code' in run
        ? `${run.stdout}\n${run.stderr}`
        : run.stdout.slice(run.stdout.lastIndexOf('SUMMARY')).replace(/^=+.*=+$/gm, ''),
    );
    expect('code' in run ? run.code : 0).toBe(0);
  });
});
