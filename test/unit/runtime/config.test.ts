import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../runtime/config.js';
import { repoRoot } from '../../support/services.js';

const minimal = {
  DATABASE_URL: 'postgres://u@localhost/db',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('fills every default from a minimal environment', () => {
    const config = parseConfig(minimal);
    expect(config.PORT).toBe(3000);
    expect(config.TEMPORAL_NAMESPACE).toBe('default');
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('converts numbers and booleans from strings', () => {
    const config = parseConfig({ ...minimal, PORT: '8080', TEMPORAL_TLS: 'true' });
    expect(config.PORT).toBe(8080);
    expect(config.TEMPORAL_TLS).toBe(true);
  });

  it('names every missing or bad variable, one line each, with what it expects', () => {
    const lines = problems({ PORT: 'eighty', REDIS_URL: 'http://nope', MASTER_KEY: 'short' });
    expect(lines.map((l) => l.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'MASTER_KEY',
      'PORT',
      'REDIS_URL',
    ]);
    expect(lines.find((l) => l.startsWith('DATABASE_URL'))).toMatch(/is required \(expects PostgreSQL URL/);
    expect(lines.find((l) => l.startsWith('PORT'))).toMatch(/integer/);
  });

  it('reads GPU prices per pool as a JSON object, and names a bad price or bad JSON', () => {
    const config = parseConfig({ ...minimal, GPU_COST_PER_HOUR: '{"H100": 2.49, "L4": 0}' });
    expect(config.GPU_COST_PER_HOUR).toEqual({ H100: 2.49, L4: 0 });
    expect(config.GPU_COST_CURRENCY).toBe('USD');
    expect(parseConfig(minimal).GPU_COST_PER_HOUR).toBeUndefined();
    expect(problems({ ...minimal, GPU_COST_PER_HOUR: '{"H100": -1, "L4": "cheap"}' })).toEqual([
      expect.stringMatching(/^GPU_COST_PER_HOUR\/H100: must be >= 0 \(expects JSON object/),
      expect.stringMatching(/^GPU_COST_PER_HOUR\/L4: must be number/),
    ]);
    expect(problems({ ...minimal, GPU_COST_PER_HOUR: '{H100: 2}' })).toEqual([
      expect.stringMatching(/^GPU_COST_PER_HOUR: is not JSON/),
    ]);
    expect(problems({ ...minimal, GPU_COST_PER_HOUR: '[2.49]', GPU_COST_CURRENCY: 'dollars' })).toEqual([
      expect.stringMatching(/^GPU_COST_PER_HOUR: must be object/),
      expect.stringMatching(/^GPU_COST_CURRENCY: /),
    ]);
  });

  it('stops the API process with a non-zero exit and the bad variable named', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, DATABASE_URL: 'mysql://x' },
    });
    const failure = await run.then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/^ {2}DATABASE_URL: .*pattern/m);
    expect(failure?.stderr).toMatch(/^ {2}MASTER_KEY: is required/m);
  });
});
