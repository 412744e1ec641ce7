// .env.example is the operator's list of settings: it must name every config variable, with the
// default the schema applies, and its values must parse.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, parseConfig } from '../../../runtime/config.js';

const example = new Map(
  readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => {
      const [key, ...rest] = line.split('=');
      return [key!, rest.join('=').replace(/^"(.*)"$/, '$1')] as const;
    }),
);
const properties = ConfigSchema.properties as Record<string, { default?: string | number | boolean }>;

describe('.env.example', () => {
  it('lists exactly the variables of the config schema', () => {
    expect([...example.keys()].sort()).toEqual(Object.keys(properties).sort());
  });

  it('shows each default the schema applies, and nothing where there is none', () => {
    for (const [key, schema] of Object.entries(properties)) {
      expect({ key, value: example.get(key) }).toEqual({
        key,
        value: schema.default === undefined ? '' : String(schema.default),
      });
    }
  });

  it('parses once the required secrets are filled in', () => {
    const env = Object.fromEntries(example);
    const config = parseConfig({
      ...env,
      DATABASE_URL: 'postgres://app@localhost/vlinders',
      MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(config.PORT).toBe(3000);
    expect(config.TEMPORAL_TLS).toBe(false);
  });
});
