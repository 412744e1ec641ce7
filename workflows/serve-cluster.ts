// The one writer of a Ray Serve cluster's applications (`serve-cluster/<cluster>`). Serve's
// `PUT /api/serve/applications/` replaces the cluster's whole state, so two writers would drop each
// other's applications: every change (a rollout's new version, the capacity loop's replicas) is an
// update to this workflow, applied one at a time. It adopts what the cluster runs when it starts,
// and reconciles: an application it wants that the cluster lost or changed is applied again; one
// the cluster runs that it did not know of is adopted, never dropped.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { ServeActivities } from '../activities/ray/index.js';
import {
  replicaSettingRejection,
  type ReplicaSetting,
  serveApplicationRejection,
  withReplicas,
  type ServeApplication,
} from '../core/serving.js';
import { activityPresets } from '../temporal.config.js';
import {
  serveClusterQueries,
  serveClusterUpdates,
  type ServeClusterInput,
  type ServeClusterState,
} from './definitions.js';

const serve = proxyActivities<ServeActivities>(activityPresets.external);

const rejected = (message: string) =>
  ApplicationFailure.create({ type: 'VALIDATION', nonRetryable: true, message });

/** Key order does not matter to Serve: compare configs by content. */
function sameConfig(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .filter(([, v]) => v !== undefined)
              .sort(([x], [y]) => x.localeCompare(y))
              .map(([k, v]) => [k, canonical(v)]),
          )
        : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export async function serveCluster(input: ServeClusterInput): Promise<void> {
  const { cluster, dashboardUrl } = input;
  const reconcileEveryMs = (input.reconcileEverySeconds ?? 30) * 1000;
  let state: ServeClusterState = input.state ?? {
    cluster,
    dashboardUrl,
    applications: [],
    ...(input.httpOptions && { httpOptions: input.httpOptions }),
    removing: [],
    applied: 0,
    adopted: [],
  };
  let busy = false;
  // A new writer adopts the cluster's applications before any change: an update that came in the
  // same task as the start would otherwise PUT a state without them, dropping them.
  let adopting = input.state === undefined;

  /** One change at a time: updates and the reconcile loop take turns. */
  async function exclusive<T>(change: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      return await change();
    } finally {
      busy = false;
    }
  }

  /** Makes `next` the desired state and PUTs it; on a refused PUT the state stays as it was. */
  async function apply(next: ServeClusterState): Promise<ServeClusterState> {
    await serve.applyServeConfig({
      dashboardUrl,
      config: {
        ...(next.httpOptions && { http_options: next.httpOptions }),
        applications: next.applications,
      },
    });
    state = { ...next, applied: next.applied + 1 };
    return state;
  }

  /** An update's change: after the adoption, one at a time. */
  async function change(next: () => Promise<ServeClusterState>): Promise<ServeClusterState> {
    await condition(() => !adopting);
    return exclusive(next);
  }

  /**
   * An update's new applications, worked out from the state when its turn comes: an update accepted
   * while a new writer adopts would otherwise start from the state before the adoption, and its PUT
   * would delete every application the adoption found.
   */
  function changeApplications(
    next: () => Pick<ServeClusterState, 'applications' | 'removing'> | null,
  ): Promise<ServeClusterState> {
    return change(async () => {
      const changed = next();
      return changed ? apply({ ...state, ...changed }) : state;
    });
  }

  setHandler(serveClusterQueries.state, () => state);

  setHandler(
    serveClusterUpdates.putApplication,
    (app) =>
      changeApplications(() => ({
        applications: [...state.applications.filter((a) => a.name !== app.name), app],
        removing: state.removing.filter((name) => name !== app.name),
      })),
    {
      validator: (app: ServeApplication) => {
        const reason = serveApplicationRejection(app, state.applications);
        if (reason) throw rejected(reason);
      },
    },
  );

  setHandler(serveClusterUpdates.removeApplication, ({ application }) =>
    changeApplications(() =>
      state.applications.some((a) => a.name === application)
        ? {
            applications: state.applications.filter((a) => a.name !== application),
            removing: [...state.removing.filter((name) => name !== application), application],
          }
        : null,
    ),
  );

  setHandler(
    serveClusterUpdates.setReplicas,
    (setting) =>
      change(async () => {
        const app = state.applications.find((a) => a.name === setting.application)!;
        const bounded = withReplicas(await withDeploymentsNamed(app), setting);
        return apply({
          ...state,
          applications: state.applications.map((a) => (a.name === app.name ? bounded : a)),
        });
      }),
    {
      validator: (setting: ReplicaSetting) => {
        const reason = replicaSettingRejection(setting, state.applications);
        if (reason) throw rejected(reason);
      },
    },
  );

  /**
   * Replicas are set per deployment: an application whose config names none (and is not a Ray
   * Serve LLM application, which sets them per model) gets the names of its running deployments.
   */
  async function withDeploymentsNamed(app: ServeApplication): Promise<ServeApplication> {
    if (Array.isArray(app.args?.llm_configs) || (app.deployments ?? []).length > 0) return app;
    const live = await serve.readServeApplications({ dashboardUrl });
    const names = live.find((a) => a.name === app.name)?.deployments ?? [];
    return { ...app, deployments: names.map((name) => ({ name })) };
  }

  /** Compares the cluster's applications with the desired ones and puts them right. */
  async function reconcile(): Promise<void> {
    const live = await serve.readServeApplications({ dashboardUrl });
    const liveByName = new Map(live.map((app) => [app.name, app]));
    const wanted = new Set(state.applications.map((app) => app.name));
    const removing = state.removing.filter((name) => liveByName.has(name));
    const strangers = live.filter(
      (app) => app.config !== null && !wanted.has(app.name) && !removing.includes(app.name),
    );
    for (const app of strangers)
      log.warn('adopting an application the writer did not know', { cluster, app: app.name });
    const applications = [...state.applications, ...strangers.map((app) => app.config!)];
    state = {
      ...state,
      applications,
      removing,
      adopted: [...state.adopted, ...strangers.map((app) => app.name)],
    };
    const drifted = state.applications.filter((app) => {
      const running = liveByName.get(app.name);
      return running === undefined || (running.config !== null && !sameConfig(running.config, app));
    });
    if (drifted.length > 0) {
      log.warn('the cluster drifted from its desired applications; applying them again', {
        cluster,
        apps: drifted.map((app) => app.name),
      });
      await apply(state);
    }
  }

  // A new writer first adopts what the cluster runs, so its first PUT drops nothing.
  if (adopting) {
    await exclusive(reconcile);
    adopting = false;
  }

  for (;;) {
    await sleep(reconcileEveryMs);
    await exclusive(reconcile);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(() => allHandlersFinished() && !busy);
      await continueAsNew<typeof serveCluster>({ ...input, state });
    }
  }
}
