// The variable table of docs/configuration.md, generated from the config schema itself
// (`npm run config:reference`), so the documentation cannot drift from what start-up accepts: a
// unit test fails when docs/configuration.md does not contain exactly this table.
import { ConfigSchema } from './config.js';

interface VariableSchema {
  type?: string;
  anyOf?: { const?: unknown }[];
  default?: string | number | boolean | object;
  minimum?: number;
  maximum?: number;
  format?: string;
  pattern?: string;
  description?: string;
}

function values(schema: VariableSchema): string {
  if (schema.anyOf) return schema.anyOf.map((option) => `\`${String(option.const)}\``).join(', ');
  switch (schema.type) {
    case 'integer': {
      const { minimum: min, maximum: max } = schema;
      if (min !== undefined && max !== undefined) return `integer ${min}–${max}`;
      if (min !== undefined) return `integer ≥ ${min}`;
      return 'integer';
    }
    case 'boolean':
      return '`true`, `false`';
    case 'array':
      return 'comma-separated list';
    case 'object':
      return 'JSON object';
    default:
      if (schema.pattern?.startsWith('^postgres')) return 'PostgreSQL URL';
      if (schema.pattern?.startsWith('^rediss?')) return 'Redis URL';
      return schema.format === 'uri' || schema.pattern?.startsWith('^https?') ? 'URL' : 'text';
  }
}

function defaultValue(schema: VariableSchema, required: boolean): string {
  if (schema.default === undefined) return required ? '**required**' : 'unset';
  if (Array.isArray(schema.default) ? schema.default.length === 0 : schema.default === '') return 'empty';
  const shown = typeof schema.default === 'object' ? JSON.stringify(schema.default) : String(schema.default);
  return `\`${shown}\``;
}

/** Every variable start-up reads, in the schema's order: accepted values, default, meaning. */
export function configReference(): string {
  const required = new Set<string>(ConfigSchema.required ?? []);
  const rows = Object.entries(ConfigSchema.properties as Record<string, VariableSchema>).map(
    ([name, schema]) =>
      `| \`${name}\` | ${values(schema)} | ${defaultValue(schema, required.has(name))} | ${(schema.description ?? '').replaceAll('|', '\\|')} |`,
  );
  return ['| variable | values | default | meaning |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}
