// node dist/scripts/serving-up.js --dashboard <url> --serve-url <url> --profile deploy/ray/cpu.yaml --models-dir <dir>
// `up` with VLINDERS_SERVING=ray runs this once its Ray head node answers: deploys the Serve profile
// (the whole desired state of this new cluster; the serve-cluster writer adopts it from there),
// waits until every application is RUNNING (a DEPLOY_FAILED one fails at once with Ray's traceback),
// and registers each model it serves in the registry under its public name (the model id without
// its version suffix: tiny-chat-v1 → tiny-chat, version v1), pointing at <serve-url>/<route prefix>.
// A model the registry already has is left alone. Prints one line per model.
import { parseArgs } from 'node:util';
import { ServeApi } from '../activities/ray/serve-api.js';
import { loadServeConfig, type ServeApplication } from '../activities/ray/serve-config.js';
import { createDeployment, createModel, listModels } from '../api/control/models/models.js';
import { createDb, createPool } from '../db/client.js';
import { loadConfigOrExit } from '../runtime/config.js';

const { values } = parseArgs({
  options: {
    dashboard: { type: 'string' },
    'serve-url': { type: 'string' },
    profile: { type: 'string' },
    'models-dir': { type: 'string' },
    'timeout-s': { type: 'string', default: '900' },
  },
});
const { dashboard, profile } = values;
const serveUrl = values['serve-url'];
const modelsDir = values['models-dir'];
if (!dashboard || !serveUrl || !profile || !modelsDir) {
  process.stderr.write(
    'usage: serving-up --dashboard <url> --serve-url <url> --profile <yaml> --models-dir <dir> [--timeout-s 900]\n',
  );
  process.exit(2);
}
const config = loadConfigOrExit();

/** The models an application of Ray Serve LLM serves: model id, context length. */
function servedModels(app: ServeApplication): { modelId: string; contextLength: number }[] {
  const llmConfigs = (app.args?.llm_configs ?? []) as {
    model_loading_config?: { model_id?: string };
    engine_kwargs?: { max_model_len?: number };
  }[];
  return llmConfigs.flatMap((c) =>
    c.model_loading_config?.model_id
      ? [
          {
            modelId: c.model_loading_config.model_id,
            contextLength: c.engine_kwargs?.max_model_len ?? 2048,
          },
        ]
      : [],
  );
}

const serve = new ServeApi(dashboard, 120_000);
const profileConfig = loadServeConfig(profile, {
  modelsDir,
  port: Number(new URL(serveUrl).port || 8000),
});
const names = profileConfig.applications.map((app) => app.name);
await serve.apply(profileConfig);
process.stdout.write(`deployed ${profile}: ${names.join(', ')}\n`);

const deadline = Date.now() + Number(values['timeout-s']) * 1000;
for (;;) {
  const apps = await serve.applications();
  const failed = names.find((name) => apps.get(name)?.status === 'DEPLOY_FAILED');
  if (failed) throw new Error(`${failed} failed to deploy: ${apps.get(failed)?.message}`);
  if (names.every((name) => apps.get(name)?.status === 'RUNNING')) break;
  if (Date.now() > deadline)
    throw new Error(`not RUNNING within ${values['timeout-s']} s: ${names.join(', ')}`);
  await new Promise((r) => setTimeout(r, 2000));
}
process.stdout.write(`running: ${names.join(', ')}\n`);

const pool = createPool({
  url: config.DATABASE_URL,
  size: 1,
  appRole: config.DATABASE_APP_ROLE,
  applicationName: 'vlinders-serving-up',
});
const db = createDb(pool);
const actor = { userId: null, ip: null };
try {
  const registered = new Set((await listModels(db)).map((m) => m.name));
  for (const app of profileConfig.applications)
    for (const { modelId, contextLength } of servedModels(app)) {
      const [, name = modelId, version = 'v1'] = /^(.+)-(v\d+)$/.exec(modelId) ?? [];
      const url = `${serveUrl}${app.route_prefix}`;
      if (registered.has(name)) {
        process.stdout.write(`${name}: already in the registry; left as it is\n`);
        continue;
      }
      const model = await createModel(db, actor, {
        name,
        contextLength,
        inputPricePerMillion: 0,
        outputPricePerMillion: 0,
      });
      await createDeployment(db, actor, model.id, {
        version,
        upstreamModel: modelId,
        urls: [url],
        weight: 100,
      });
      process.stdout.write(`${name}: registered, version ${version} → ${url} (upstream model ${modelId})\n`);
    }
} finally {
  await pool.end();
}
