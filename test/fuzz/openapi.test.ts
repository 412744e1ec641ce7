// Schemathesis fuzzes every operation of the OpenAPI document against the real app, signed in as
// an org owner, with every check on and the stateful phase chaining operations through the
// document's links: no answer may be a 5xx, every answer must match its documented schema, a
// schema-valid request must be accepted, an undeclared method must get 405 with `Allow`.
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

/** Schemathesis' default statuses for a schema-valid request, and one more this operation may answer. */
const acceptedAlso = (status: number) =>
  JSON.stringify(['2xx', '3xx', '401', '403', '404', '409', '429', '5xx', String(status)]);

/**
 * The rules a schema cannot state, each an exception for one operation and one check, with why.
 * Operations are named `METHOD path`: several include-* keys in one entry would match either.
 * Everything else the server refuses is in the document (see docs/http-contract.md).
 */
const exceptions = `
# Rules that depend on the clock, on stored state or on another system: a schema-valid request
# may still get these documented answers.
[[operations]]
include-path-regex = "^/api/orgs/\\\\{orgId\\\\}/usage(\\\\.csv)?$"
# 400: the range may span at most 93 days, counted to now when 'to' is left out.
checks.positive_data_acceptance.expected-statuses = ${acceptedAlso(400)}

[[operations]]
include-name = "POST /api/orgs/{orgId}/api-keys"
# 400: expiresAt must be in the future.
checks.positive_data_acceptance.expected-statuses = ${acceptedAlso(400)}

[[operations]]
include-name = "POST /api/orgs/{orgId}/invitations/accept"
# 410: the invitation was revoked or has expired.
checks.positive_data_acceptance.expected-statuses = ${acceptedAlso(410)}
# DELETE on this URL is not undeclared: DELETE /api/orgs/{orgId}/invitations/{invitationId}
# serves it, and 'accept' is a malformed invitation id (400). Its other methods answer 405
# (test/integration/platform/method-not-allowed.test.ts).
checks.unsupported_method.enabled = false

[[operations]]
include-path = "/api/sso/callback"
# 400: the sign-in must have been started in this browser (its state cookie).
checks.positive_data_acceptance.expected-statuses = ${acceptedAlso(400)}

[[operations]]
include-name = "PUT /api/orgs/{orgId}/sso"
# 400: the issuer must serve its OpenID configuration, fetched on save.
checks.positive_data_acceptance.expected-statuses = ${acceptedAlso(400)}

[[operations]]
include-name = "POST /api/admin/models/{modelId}/versions"
# 400: no string inside the Serve application's free-form parts (args, runtime_env, deployments)
# may hold the NUL character; the schema states the rule for typed strings and keys only.
checks.positive_data_acceptance.expected-statuses = ${acceptedAlso(400)}

[[operations]]
include-path = "/webhooks/stripe"
# 400: the signature is an HMAC of the body with the endpoint's secret.
checks.positive_data_acceptance.expected-statuses = ${acceptedAlso(400)}

[[operations]]
include-name-regex = "^GET /api/orgs/\\\\{orgId\\\\}/(api-keys/\\\\{keyId\\\\}|oauth-clients/\\\\{clientId\\\\})$"
# Revoking (DELETE) keeps the record readable, with revokedAt set, for the audit trail.
checks.use_after_free.enabled = false
`;

describe('OpenAPI fuzz (schemathesis)', () => {
  it(
    'finds no server error and no answer outside the documented contract',
    { timeout: 600_000 },
    async () => {
      const owner = await signUp(t.app, 'fuzz-owner');
      const orgId = await seedActiveOrg(admin, owner, 'Fuzz Org');
      const configFile = join(mkdtempSync(join(tmpdir(), 'vlinders-fuzz-')), 'schemathesis.toml');
      writeFileSync(
        configFile,
        // Path parameters point at a real, active org, so the fuzzer reaches past 404 into the
        // handlers: the orgs the stateful phase creates stay in onboarding (no worker runs here), and
        // only their creator's GET /api/orgs/{orgId} answers for them until it finishes.
        `[parameters]\n"path.orgId" = "${orgId}"\n\n` +
          // Every check, set here rather than with --checks all: a check named on the command line
          // cannot be turned off for one operation, and one exception below needs that.
          `[checks]\nenabled = true\n\n` +
          // The document's links are the contract; links guessed from field names are not.
          `[phases.stateful.inference]\nalgorithms = []\n` +
          exceptions,
      );
      const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const run = await promisify(execFile)(
        schemathesis,
        [
          'run',
          `${address}/openapi.json`,
          '--header',
          `Authorization: ${bearer(owner).authorization}`,
          // 25 examples an operation keeps the run near a minute and a half on 2 cores.
          '--max-examples',
          '25',
          '--phases',
          'examples,coverage,fuzzing,stateful',
          '--workers',
          '1',
          '--seed',
          '4242',
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
    },
  );
});
