// Writes the JSON Schemas that scripts/validate-deploy.ts gives kubeconform (deploy/schemas/), for
// the kinds the chart renders: the Kubernetes kinds from Kubernetes' own OpenAPI document, the
// custom resources from their CRDs, each at the version pinned below. The sources are Go modules,
// fetched once through the Go module proxy (`go mod download`); the schemas are committed, so the
// validation itself never reaches the network. Run after changing a version or adding a kind:
//   bash scripts/with-node.sh node scripts/deploy-schemas.ts
// Layout: deploy/schemas/<group>/<kind>_<version>.json (the core group as v1/), kubeconform's
// `-schema-location 'deploy/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'`.
// Each schema is standalone (no $ref) and strict (an unknown field is an error), like
// yannh/kubernetes-json-schema's *-standalone-strict schemas; descriptions are left out.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

type Schema = Record<string, unknown>;

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const out = join(root, 'deploy/schemas');

/** The sources: Go modules at pinned versions. */
const sources = {
  kubernetes: 'k8s.io/kubernetes@v1.33.13',
  keda: 'github.com/kedacore/keda/v2@v2.21.1',
  kuberay: 'github.com/ray-project/kuberay/ray-operator@v1.5.0',
  prometheusOperator: 'github.com/prometheus-operator/prometheus-operator@v0.85.0',
  externalSecrets: 'github.com/external-secrets/external-secrets@v1.3.2',
} as const;

/** Kubernetes kinds: [group ('' for core), version, kind]. */
const kubernetesKinds: [string, string, string][] = [
  ['', 'v1', 'ConfigMap'],
  ['', 'v1', 'Service'],
  ['', 'v1', 'ServiceAccount'],
  ['apps', 'v1', 'Deployment'],
  ['batch', 'v1', 'Job'],
  ['autoscaling', 'v2', 'HorizontalPodAutoscaler'],
  ['policy', 'v1', 'PodDisruptionBudget'],
  ['networking.k8s.io', 'v1', 'NetworkPolicy'],
];

/** Custom resources: [source, CRD file in the module, version]. */
const crds: [keyof typeof sources, string, string][] = [
  ['keda', 'config/crd/bases/keda.sh_scaledobjects.yaml', 'v1alpha1'],
  ['keda', 'config/crd/bases/keda.sh_triggerauthentications.yaml', 'v1alpha1'],
  ['kuberay', 'config/crd/bases/ray.io_rayservices.yaml', 'v1'],
  ['prometheusOperator', 'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml', 'v1'],
  ['prometheusOperator', 'example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml', 'v1'],
  ['prometheusOperator', 'example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml', 'v1'],
  ['externalSecrets', 'config/crds/bases/external-secrets.io_externalsecrets.yaml', 'v1'],
];

/** The module's folder in the module cache, downloaded if missing. */
function moduleDir(module: string): string {
  let json: string;
  try {
    json = execFileSync('go', ['mod', 'download', '-json', module], { encoding: 'utf8' });
  } catch (err) {
    // A module that needs a newer Go than this one is still downloaded and unpacked (only its
    // files are read here); `go mod download` reports it as an error without the folder.
    json = (err as { stdout?: string }).stdout ?? '';
  }
  const info = JSON.parse(json) as { Dir?: string; Zip?: string; Error?: string };
  if (info.Dir) return info.Dir;
  const [path, version] = module.split('@') as [string, string];
  const cache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  const dir = join(cache, `${path.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}@${version}`);
  if (!info.Zip || !existsSync(dir)) throw new Error(`${module}: ${info.Error ?? 'not downloaded'}`);
  return dir;
}

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Inlines $refs (resolve), drops descriptions, and makes every object with properties strict. */
function normalise(node: unknown, resolve: (ref: string) => Schema): unknown {
  if (Array.isArray(node)) return node.map((n) => normalise(n, resolve));
  if (!isObject(node)) return node;
  let s: Schema = { ...node };
  if (typeof s.$ref === 'string') {
    const { $ref, ...rest } = s;
    s = { ...resolve($ref), ...rest };
  }
  // Kubernetes' OpenAPI wraps a $ref beside a default or description in a one-element allOf.
  if (Array.isArray(s.allOf) && s.allOf.length === 1) {
    const { allOf, ...rest } = s;
    s = { ...(allOf[0] as Schema), ...rest };
    if (typeof s.$ref === 'string') return normalise(s, resolve);
  }
  const result: Schema = {};
  for (const [key, value] of Object.entries(s)) {
    if (key === 'description' || key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties' && isObject(value)) {
      result.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, normalise(sub, resolve)]),
      );
    } else result[key] = normalise(value, resolve);
  }
  if (s['x-kubernetes-int-or-string'] === true && !result.anyOf && !result.oneOf) {
    delete result.type;
    delete result.format;
    result.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (result.nullable === true) {
    delete result.nullable;
    if (typeof result.type === 'string') result.type = [result.type, 'null'];
  }
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (result.properties && result.additionalProperties === undefined && !preserve) {
    result.additionalProperties = false;
  }
  return result;
}

function write(group: string, version: string, kind: string, schema: Schema, source: string): void {
  const file = join(out, group || 'v1', `${kind.toLowerCase()}_${version}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const apiVersion = group ? `${group}/${version}` : version;
  const properties = schema.properties as Schema;
  properties.apiVersion = { type: 'string', enum: [apiVersion] };
  properties.kind = { type: 'string', enum: [kind] };
  const doc = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $comment: `${apiVersion} ${kind} from ${source}`,
    ...schema,
  };
  writeFileSync(file, JSON.stringify(doc) + '\n');
  console.log(`${file.slice(root.length + 1)}  ${apiVersion} ${kind}  (${source})`);
}

// The schemas' folders afresh (the README stays).
for (const entry of readdirSync(out, { withFileTypes: true })) {
  if (entry.isDirectory()) rmSync(join(out, entry.name), { recursive: true, force: true });
}
const k8s = join(moduleDir(sources.kubernetes), 'api/openapi-spec/v3');
for (const [group, version, kind] of kubernetesKinds) {
  const file = group ? `apis__${group}__${version}_openapi.json` : `api__${version}_openapi.json`;
  const doc = JSON.parse(readFileSync(join(k8s, file), 'utf8')) as {
    components: { schemas: Record<string, Schema> };
  };
  const schemas = doc.components.schemas;
  const name = Object.keys(schemas).find((n) =>
    (
      (schemas[n]!['x-kubernetes-group-version-kind'] ?? []) as {
        group: string;
        version: string;
        kind: string;
      }[]
    ).some((gvk) => gvk.group === group && gvk.version === version && gvk.kind === kind),
  );
  if (!name) throw new Error(`${group}/${version} ${kind}: not in ${file}`);
  const resolve = (ref: string) => schemas[ref.replace('#/components/schemas/', '')]!;
  write(group, version, kind, normalise(schemas[name], resolve) as Schema, sources.kubernetes);
}
for (const [source, path, version] of crds) {
  const crd = parse(readFileSync(join(moduleDir(sources[source]), path), 'utf8')) as {
    spec: {
      group: string;
      names: { kind: string };
      versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
    };
  };
  const v = crd.spec.versions.find((x) => x.name === version);
  if (!v) throw new Error(`${path}: no version ${version}`);
  const schema = normalise(v.schema.openAPIV3Schema, (ref) => {
    throw new Error(`${path}: unexpected $ref ${ref}`);
  }) as Schema;
  write(crd.spec.group, version, crd.spec.names.kind, schema, sources[source]);
}
