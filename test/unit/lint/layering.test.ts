// The layering rules (eslint.layers.js) refuse a planted violation of each layer, and let the
// allowed imports through: a rule that cannot fail would not guard anything.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import layers from '../../../eslint.layers.js';

const eslint = new ESLint({
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...layers],
});

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layering', () => {
  it.each([
    ['core/planted.ts', "import { db } from '../db/client.js';"],
    ['core/planted.ts', "import { AppError } from '../api/errors.js';"],
    ['core/planted.ts', "import { readFile } from 'node:fs/promises';"],
    ['core/planted.ts', "import pg from 'pg';"],
    ['db/planted.ts', "import { AppError } from '../api/errors.js';"],
    ['db/planted.ts', "import { loadConfig } from '../runtime/config.js';"],
    ['runtime/planted.ts', "import { buildApp } from '../api/app.js';"],
    ['activities/planted.ts', "import { onboarding } from '../workflows/onboarding.js';"],
    [
      'activities/billing/planted.ts',
      "import type { SubscriptionState } from '../../workflows/definitions.js';",
    ],
    ['workers/planted.ts', "import { buildApp } from '../api/app.js';"],
    ['workflows/planted.ts', "import { createDb } from '../db/client.js';"],
    ['workflows/planted.ts', "import { createActivities } from '../activities/index.js';"],
    ['api/control/planted.ts', "import { onboarding } from '../../workflows/onboarding.js';"],
    ['api/control/teams/planted.ts', "import { requireSignedIn } from '../../identity/auth-plugin.js';"],
    ['api/control/teams/planted.ts', "import teamRoutes from './routes.js';"],
    ['api/gateway/planted.ts', "import { handleErrors } from '../plugins/errors.js';"],
  ])('refuses %s: %s', async (file, code) => {
    expect(await problems(file, code)).toEqual([expect.stringMatching(/^no-restricted-imports: /)]);
  });

  it.each([
    ['core/planted.ts', "import { plan } from './plans.js';"],
    ['core/planted.ts', "import { createHash } from 'node:crypto';"],
    ['db/planted.ts', "import { plan } from '../core/plans.js';"],
    ['runtime/planted.ts', "import { trace } from '@opentelemetry/api';"],
    ['workflows/planted.ts', "import type { Activities } from '../activities/index.js';"],
    ['api/control/planted.ts', "import { workflowTypes } from '../../workflows/definitions.js';"],
    ['api/control/teams/routes.ts', "import { requireSignedIn } from '../../identity/auth-plugin.js';"],
    ['api/control/teams/planted.ts', "import { AppError } from '../../errors.js';"],
  ])('lets through %s: %s', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
