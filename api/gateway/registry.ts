// The model registry in memory: every model and its routable deployments, read from Postgres and
// kept fresh by polling one number, `model_registry_revision.revision` (bumped by a trigger in the
// transaction of every change), once a second; a change is reloaded whole, so every replica sees
// it within about a second, without a restart. A failed poll keeps the last good snapshot. The hot
// path, `model(name)`, is one Map lookup; so is `upstreamKeys(deploymentId)`, the deployment's
// upstream credentials (upstream-keys.ts), loaded with the rest, as are the GPUs each model holds
// now (the allocation history's open rows, written in the same transactions), for the cost gauges.
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/client.js';
import { gpusHeld, type GpusHeld } from '../../db/gpu-allocations.js';
import { modelDeployments, modelRegistryRevision, models } from '../../db/schema/index.js';
import type { MasterKey } from '../../runtime/envelope.js';
import { loadUpstreamKeys, type UpstreamKeys } from './upstream-keys.js';

/** A deployment that takes traffic: state 'active' and weight > 0. */
export interface DeploymentRoute {
  id: string;
  version: string;
  weight: number;
  upstreamModel: string;
  urls: string[];
}

export interface ModelRoute {
  id: string;
  name: string;
  contextLength: number;
  inputPricePerMillion: number;
  outputPricePerMillion: number;
  status: 'active' | 'disabled';
  fallbackModel: string | null;
  /**
   * Only deployments with state 'active' and weight > 0, heaviest first; empty when none can take
   * traffic. Frozen, like the whole route: shared by every request.
   */
  deployments: DeploymentRoute[];
}

export interface ModelRegistryOptions {
  db: Db;
  logger?: FastifyBaseLogger | undefined;
  /** How often the revision is polled; 1000 ms unless a test wants it faster. */
  pollIntervalMs?: number;
  /** Opens the deployments' upstream keys; without it none are loaded (requests go without). */
  master?: MasterKey | undefined;
}

interface Snapshot {
  revision: number;
  byName: Map<string, ModelRoute>;
  list: ModelRoute[];
  upstreamKeys: Map<string, UpstreamKeys>;
  gpusHeld: GpusHeld[];
}

const emptySnapshot: Snapshot = {
  revision: 0,
  byName: new Map(),
  list: [],
  upstreamKeys: new Map(),
  gpusHeld: [],
};

export class ModelRegistry {
  private snapshot = emptySnapshot;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  private failing = false;
  private readonly pollIntervalMs: number;

  constructor(private readonly options: ModelRegistryOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
  }

  /**
   * Loads the registry and begins polling. A database slower than its deadline for a moment (a busy
   * machine) gets two more tries; a database that keeps failing fails the start.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.snapshot = await this.load(this.snapshot);
        break;
      } catch (err) {
        if (attempt === 3) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    this.schedule();
  }

  /** Stops polling; resolves once a poll in flight has finished (so the pool can be closed after). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  model(name: string): ModelRoute | undefined {
    return this.snapshot.byName.get(name);
  }

  /** The keys to send to a deployment's upstream; undefined when it has none. */
  upstreamKeys(deploymentId: string): UpstreamKeys | undefined {
    return this.snapshot.upstreamKeys.get(deploymentId);
  }

  /** Every model, by name. */
  list(): ModelRoute[] {
    return this.snapshot.list;
  }

  /** The GPUs held now per model and pool (from the allocation history). */
  gpusHeld(): readonly GpusHeld[] {
    return this.snapshot.gpusHeld;
  }

  /** The revision of the snapshot in memory (0 before the first load). */
  get revision(): number {
    return this.snapshot.revision;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll();
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    try {
      const [row] = await this.options.db
        .select({ revision: modelRegistryRevision.revision })
        .from(modelRegistryRevision);
      if (row && row.revision !== this.snapshot.revision) this.snapshot = await this.load(this.snapshot);
      if (this.failing) this.options.logger?.info('model registry: polling works again');
      this.failing = false;
    } catch (err) {
      // Logged once per outage; the snapshot in memory keeps serving.
      if (!this.failing)
        this.options.logger?.warn({ err }, 'model registry: poll failed, keeping the last snapshot');
      this.failing = true;
    }
    this.schedule();
  }

  /** Reads revision, models and deployments in one snapshot of the database. */
  private async load(previous: Snapshot): Promise<Snapshot> {
    const { master } = this.options;
    const { revision, modelRows, deploymentRows, upstreamKeys, held } = await this.options.db.transaction(
      async (tx) => {
        const [row] = await tx
          .select({ revision: modelRegistryRevision.revision })
          .from(modelRegistryRevision);
        return {
          revision: row?.revision ?? 0,
          modelRows: await tx.select().from(models),
          deploymentRows: await tx.select().from(modelDeployments),
          upstreamKeys: master ? await loadUpstreamKeys(tx, master) : new Map<string, UpstreamKeys>(),
          held: await gpusHeld(tx),
        };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );

    // A deployment whose URLs did not change keeps its array, so the router's ring for it (keyed on
    // that array) survives a reload, a weight change of a canary step included.
    const previousUrls = new Map<string, string[]>();
    for (const m of previous.list) for (const d of m.deployments) previousUrls.set(d.id, d.urls);
    const routable = new Map<string, DeploymentRoute[]>();
    for (const d of deploymentRows) {
      if (d.state !== 'active' || d.weight <= 0) continue;
      const before = previousUrls.get(d.id);
      const route: DeploymentRoute = {
        id: d.id,
        version: d.version,
        weight: d.weight,
        upstreamModel: d.upstreamModel,
        urls: before && before.join('\n') === d.urls.join('\n') ? before : d.urls,
      };
      const list = routable.get(d.modelId) ?? [];
      list.push(route);
      routable.set(d.modelId, list);
    }

    const list = modelRows
      .map((m): ModelRoute => {
        const route: ModelRoute = {
          id: m.id,
          name: m.name,
          contextLength: m.contextLength,
          inputPricePerMillion: m.inputPricePerMillion,
          outputPricePerMillion: m.outputPricePerMillion,
          status: m.status,
          fallbackModel: m.fallbackModel,
          deployments: (routable.get(m.id) ?? []).sort(
            (a, b) => b.weight - a.weight || a.id.localeCompare(b.id),
          ),
        };
        // An unchanged model keeps its object, so caches keyed on it (the router's rings) stay warm.
        const before = previous.byName.get(m.name);
        return before && sameRoute(before, route) ? before : deepFreeze(route);
      })
      .sort((a, b) => a.name.localeCompare(b.name));
    return { revision, byName: new Map(list.map((m) => [m.name, m])), list, upstreamKeys, gpusHeld: held };
  }
}

function sameRoute(a: ModelRoute, b: ModelRoute): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Routes are shared by every request: frozen, so no caller can change them for the others. */
function deepFreeze(route: ModelRoute): ModelRoute {
  for (const d of route.deployments) {
    Object.freeze(d.urls);
    Object.freeze(d);
  }
  Object.freeze(route.deployments);
  return Object.freeze(route);
}
