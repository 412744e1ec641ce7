import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../../runtime/config.js';
import { configReference } from '../../../runtime/config-reference.js';

// Markdown tables compared cell by cell: prettier pads the columns of the documented one.
const cells = (table: string) =>
  table
    .trim()
    .split('\n')
    .filter((line) => !/^\|[\s|:-]+\|$/.test(line))
    .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()));

describe('the documented variable table (docs/configuration.md)', () => {
  it('is exactly the table generated from the config schema (run `npm run config:reference` after a change)', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const start = doc.indexOf('## Every variable');
    expect(start).toBeGreaterThan(-1);
    const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
    const table = section.split('\n\n').find((block) => block.startsWith('| '));
    expect(cells(table ?? '')).toEqual(cells(configReference()));
  });

  it('lists every variable, and the ones start-up cannot do without as required', () => {
    const rows = cells(configReference()).slice(1);
    expect(rows.map((row) => row[1])).toEqual(
      Object.keys(ConfigSchema.properties).map((name) => `\`${name}\``),
    );
    expect(rows.filter((row) => row[3] === '**required**').map((row) => row[1])).toEqual([
      '`DATABASE_URL`',
      '`MASTER_KEY`',
    ]);
  });
});
