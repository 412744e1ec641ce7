// npm run models:seed-simulator -- --url http://127.0.0.1:4000
// `up` runs this after starting the model-server simulator (a stand-in for vLLM): when the model
// registry is empty, it registers the simulator's models `sim-chat` and `sim-embed` with one
// deployment each at --url, so /v1 answers out of the box. A registry that has models (an operator
// configured real ones) is left alone. Audited as a platform event without a user.
import { parseArgs } from 'node:util';
import { createModel, createDeployment, listModels } from '../api/control/models/models.js';
import { createDb, createPool } from '../db/client.js';
import { loadConfigOrExit } from '../runtime/config.js';

const simulatorModels = ['sim-chat', 'sim-embed'];

const { values } = parseArgs({ options: { url: { type: 'string' } } });
if (!values.url) {
  process.stderr.write('usage: models:seed-simulator --url <simulator base URL, without /v1>\n');
  process.exit(2);
}
const config = loadConfigOrExit();
const pool = createPool({
  url: config.DATABASE_URL,
  size: 1,
  appRole: config.DATABASE_APP_ROLE,
  applicationName: 'vlinders-seed-simulator',
});
const db = createDb(pool);
const actor = { userId: null, ip: null };
try {
  const existing = await listModels(db);
  if (existing.length > 0) {
    process.stdout.write(`the registry has ${existing.length} model(s); nothing seeded\n`);
  } else {
    for (const name of simulatorModels) {
      const model = await createModel(db, actor, {
        name,
        contextLength: 8192,
        inputPricePerMillion: 0,
        outputPricePerMillion: 0,
      });
      await createDeployment(db, actor, model.id, {
        version: 'simulator',
        upstreamModel: name,
        urls: [values.url],
        weight: 100,
      });
    }
    process.stdout.write(`registered ${simulatorModels.join(', ')} at ${values.url} (the simulator)\n`);
  }
} finally {
  await pool.end();
}
