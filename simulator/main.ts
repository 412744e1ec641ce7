// Runs the model-server simulator (a stand-in for Ray Serve + vLLM; see simulator.ts):
//   npx tsx simulator/main.ts [--port 4000] [--host 127.0.0.1] [--models sim-chat,sim-embed]
//     [--ttft-ms 20] [--inter-token-ms 10] [--tokens 16] [--error-rate 0] [--usage true]
//     [--embedding-dimensions 8]
import { parseSimulatorArgs } from './args.js';
import { Simulator } from './simulator.js';

let parsed: ReturnType<typeof parseSimulatorArgs>;
try {
  parsed = parseSimulatorArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`simulator: ${(err as Error).message}\n`);
  process.exit(2);
}
const simulator = new Simulator(parsed.options);
const base = await simulator.listen(parsed.port, parsed.host);
process.stdout.write(`model-server simulator (a stand-in for vLLM) on ${base}\n`);
const stop = () => void simulator.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
