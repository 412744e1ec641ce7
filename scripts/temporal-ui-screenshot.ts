// Shows, with `up` running, that the Temporal UI decodes payloads: signs up a user, creates an org
// (its onboarding workflow's input is encrypted with the org's key), opens that workflow's page in
// headless Chromium, fails unless the owner's email (a field of the encrypted input) is on the page,
// and saves a screenshot of it.
//   npm run temporal-ui:screenshot -- [--out docs/images/temporal-ui-decoded.png]
//   (API, UI and Temporal addresses from PORT, TEMPORAL_UI_PORT, TEMPORAL_PORT and
//   TEMPORAL_NAMESPACE, as `up` uses them; the verification mail from MAIL_DIR, else .data/mail; Chromium from CHROMIUM, else /usr/bin/chromium, which
//   `bash scripts/install-tools.sh chromium` installs)
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs, promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { workflowIds } from '../temporal.config.js';
import { postJson, signUpVerified } from './verified-sign-up.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { out: { type: 'string', default: 'docs/images/temporal-ui-decoded.png' } },
});
const api = `http://127.0.0.1:${process.env.PORT ?? '3000'}`;
const ui = `http://localhost:${process.env.TEMPORAL_UI_PORT ?? '8233'}`;
const temporalAddress = `127.0.0.1:${process.env.TEMPORAL_PORT ?? '7233'}`;
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'vlinders';
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const mailDir = process.env.MAIL_DIR ?? '.data/mail';

/** Chromium, headless, given time for the page's requests (the codec's among them) to finish. */
async function chromiumAt(url: string, ...flags: string[]): Promise<string> {
  const { stdout } = await run(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--virtual-time-budget=20000',
      ...flags,
      url,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
  );
  return stdout;
}

const ownerEmail = `screenshot-${randomBytes(4).toString('hex')}@example.com`;
const { accessToken } = await signUpVerified(api, mailDir, {
  email: ownerEmail,
  password: randomBytes(18).toString('base64url'),
});
const created = await postJson(`${api}/api/orgs`, { name: 'Decoded Payloads Ltd' }, accessToken);
if (!created.ok) throw new Error(`POST /api/orgs: ${created.status} ${await created.text()}`);
const { orgId } = (await created.json()) as { orgId: string };

const connection = await Connection.connect({ address: temporalAddress });
const handle = new Client({ connection, namespace }).workflow.getHandle(workflowIds.onboarding(orgId));
// Its result is encrypted too: wait for the status, which is not.
let execution = await handle.describe();
for (let waited = 0; execution.status.name === 'RUNNING' && waited < 60_000; waited += 500) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  execution = await handle.describe();
}
await connection.close();
const { runId } = execution;

const page = `${ui}/namespaces/${namespace}/workflows/${encodeURIComponent(handle.workflowId)}/${runId}/history`;
if (!(await chromiumAt(page, '--dump-dom')).includes(ownerEmail)) {
  process.stderr.write(
    `temporal-ui-screenshot: ${page} does not show ${ownerEmail}: its input is not decoded\n`,
  );
  process.exit(1);
}
await chromiumAt(page, '--window-size=1440,900', `--screenshot=${values.out}`);
process.stdout.write(`${page} shows the decoded input (${ownerEmail}); screenshot: ${values.out}\n`);
