// Runs stripe-mock (Stripe's own stand-in) as one Stripe account for `up`: a proxy in front of it
// that answers price lists with the plan catalog's prices and gives each created customer and
// subscription a fresh id (see stripe-account.ts). Records nothing.
//   npx tsx simulator/stripe-account-main.ts --upstream http://127.0.0.1:12112 [--port 12111] [--host 127.0.0.1]
import { parseArgs } from 'node:util';
import { actAsStripeAccount } from './stripe-account.js';
import { StripeRecorder } from './stripe-recorder.js';

const usage = 'usage: stripe-account-main.ts --upstream <stripe-mock URL> [--port 12111] [--host 127.0.0.1]';
let values: { upstream?: string; port: string; host: string };
try {
  ({ values } = parseArgs({
    options: {
      upstream: { type: 'string' },
      port: { type: 'string', default: '12111' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  }));
} catch (err) {
  process.stderr.write(`stripe-account: ${(err as Error).message}\n${usage}\n`);
  process.exit(2);
}
const port = Number(values.port);
if (
  !values.upstream ||
  !/^https?:\/\//.test(values.upstream) ||
  !Number.isInteger(port) ||
  port < 0 ||
  port > 65535
) {
  process.stderr.write(`stripe-account: --upstream must be a URL and --port a port number\n${usage}\n`);
  process.exit(2);
}
const proxy = await actAsStripeAccount(new StripeRecorder(values.upstream, { record: false })).start(
  port,
  values.host,
);
process.stdout.write(`stripe-mock as one Stripe account (a stand-in for Stripe) on ${proxy.url}\n`);
const stop = () => void proxy.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
