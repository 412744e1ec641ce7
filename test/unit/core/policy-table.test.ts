import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyTable } from '../../../core/policy-table.js';

describe('the README role table', () => {
  it('is exactly the table generated from the policy (run `npm run policy:table` after a change)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const roles = readme.slice(
      readme.indexOf('### Roles'),
      readme.indexOf('\n## ', readme.indexOf('### Roles')),
    );
    const tables = roles.split('\n\n').filter((block) => block.startsWith('| '));
    expect(tables.map((t) => `${t.trimEnd()}\n`)).toEqual([policyTable()]);
  });
});
