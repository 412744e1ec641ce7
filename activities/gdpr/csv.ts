// Rows as CSV (RFC 4180): a header of every column that appears, fields quoted when they hold a
// comma, a quote or a line break. Dates as ISO 8601, objects and arrays as JSON, null as empty.

type Row = Record<string, unknown>;

function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return value.toString();
  return JSON.stringify(value);
}

function field(value: unknown): string {
  const written = asText(value);
  return /[",\r\n]/.test(written) ? `"${written.replace(/"/g, '""')}"` : written;
}

export function toCsv(rows: Row[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const lines = [
    columns.map(field).join(','),
    ...rows.map((row) => columns.map((c) => field(row[c])).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
