import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyTable } from '../../../core/policy-table.js';

describe('the documented role table (docs/security.md)', () => {
  it('is exactly the table generated from the policy (run `npm run policy:table` after a change)', () => {
    const security = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    const start = security.indexOf('### Roles');
    expect(start).toBeGreaterThan(-1);
    const roles = security.slice(start, security.indexOf('\n### ', start + 1));
    const tables = roles.split('\n\n').filter((block) => block.startsWith('| '));
    expect(tables.map((t) => `${t.trimEnd()}\n`)).toEqual([policyTable()]);
  });
});
