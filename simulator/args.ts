// The simulator's command line (simulator/main.ts). Options come from arguments, not the
// environment: only runtime/config.ts reads that. A bad value throws, naming the option.
import { parseArgs } from 'node:util';
import { defaultSimulatorOptions, type SimulatorOptions } from './simulator.js';

function number(
  name: string,
  raw: string | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > max)
    throw new Error(`--${name} must be a number in [0, ${max}]`);
  return value;
}

export function parseSimulatorArgs(argv: string[]): {
  options: SimulatorOptions;
  port: number;
  host: string;
} {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      models: { type: 'string' },
      'ttft-ms': { type: 'string' },
      'inter-token-ms': { type: 'string' },
      tokens: { type: 'string' },
      'error-rate': { type: 'string' },
      usage: { type: 'string' },
      'embedding-dimensions': { type: 'string' },
    },
    strict: true,
  });
  const d = defaultSimulatorOptions;
  const models =
    values.models
      ?.split(',')
      .map((m) => m.trim())
      .filter(Boolean) ?? d.models;
  if (models.length === 0) throw new Error('--models needs at least one model id');
  if (values.usage !== undefined && !['true', 'false'].includes(values.usage))
    throw new Error('--usage must be true or false');
  return {
    port: number('port', values.port, 4000, 65_535),
    host: values.host ?? '127.0.0.1',
    options: {
      models,
      timeToFirstTokenMs: number('ttft-ms', values['ttft-ms'], d.timeToFirstTokenMs),
      interTokenMs: number('inter-token-ms', values['inter-token-ms'], d.interTokenMs),
      completionTokens: Math.max(1, Math.floor(number('tokens', values.tokens, d.completionTokens))),
      errorRate: number('error-rate', values['error-rate'], d.errorRate, 1),
      usage: values.usage === undefined ? d.usage : values.usage === 'true',
      embeddingDimensions: Math.max(
        1,
        Math.floor(number('embedding-dimensions', values['embedding-dimensions'], d.embeddingDimensions)),
      ),
    },
  };
}
