// The processes Vlinders is compared with and through: the model-server simulator (the upstream
// of every target) and the Portkey open-source gateway (the peer).
import { freePort } from '../../test/support/services.js';
import {
  childEnv,
  compiledEntry,
  gatewayCore,
  loadCore,
  startNode,
  waitForHttp,
  type Child,
} from './processes.js';

/** The model id every simulator serves. */
export const simulatorModel = 'sim-chat';

export interface SimulatorTiming {
  ttftMs: number;
  interTokenMs: number;
  tokens: number;
}

/** A simulator on the load core; answers its server URL (without /v1). */
export async function startSimulator(
  name: string,
  timing: SimulatorTiming,
  logDir: string,
): Promise<{ child: Child; server: string }> {
  const port = await freePort();
  const child = startNode(
    name,
    loadCore,
    [
      compiledEntry('simulator/main.js'),
      ...['--port', String(port), '--models', simulatorModel, '--usage', 'true'],
      ...['--ttft-ms', String(timing.ttftMs), '--inter-token-ms', String(timing.interTokenMs)],
      ...['--tokens', String(timing.tokens)],
    ],
    childEnv({}),
    logDir,
  );
  const server = `http://127.0.0.1:${port}`;
  await waitForHttp(name, `${server}/health`, (s) => s === 200);
  return { child, server };
}

export const portkeyServer = 'node_modules/@portkey-ai/gateway/build/start-server.js';

/** Portkey's gateway (node build, headless: no log UI) on the gateway core. */
export async function startPortkey(logDir: string): Promise<{ child: Child; origin: string }> {
  const port = await freePort();
  const child = startNode(
    'portkey',
    gatewayCore,
    [portkeyServer, `--port=${port}`, '--headless'],
    childEnv({}),
    logDir,
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp('portkey', `${origin}/`, (s) => s === 200);
  return { child, origin };
}

/** Headers that make Portkey forward to an OpenAI-compatible server (the simulator). */
export function portkeyHeaders(server: string): Record<string, string> {
  return {
    authorization: 'Bearer sk-bench',
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `${server}/v1`,
  };
}
