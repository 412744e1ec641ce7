// Ray Serve's declarative config (what `PUT /api/serve/applications/` takes: the whole desired
// state of a cluster), read from the YAML files in deploy/ray/ with their two placeholders filled
// in: ${MODELS_DIR}, where the models lie on the cluster's nodes, and the proxy's port.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { ServeConfig } from '../../core/serving.js';

export type { ServeApplication, ServeConfig } from '../../core/serving.js';

export interface ServeConfigValues {
  /** The folder holding the models on the cluster's nodes. */
  modelsDir: string;
  /** The Serve proxy's HTTP port (the config's own when not given). */
  port?: number;
}

/** Reads a Serve config file, fills in its placeholders and checks its shape. */
export function loadServeConfig(file: string, values: ServeConfigValues): ServeConfig {
  const text = readFileSync(file, 'utf8').replaceAll('${MODELS_DIR}', values.modelsDir);
  const config = parse(text) as ServeConfig;
  if (!Array.isArray(config?.applications)) throw new Error(`${file}: no 'applications' list`);
  for (const app of config.applications) {
    if (!app.name || !app.route_prefix || !app.import_path) {
      throw new Error(`${file}: every application needs name, route_prefix and import_path`);
    }
  }
  if (values.port !== undefined) config.http_options = { ...config.http_options, port: values.port };
  return config;
}
