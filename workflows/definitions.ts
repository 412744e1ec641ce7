// Workflow inputs, outputs and messages: what the API imports to start and talk to workflows.
// (defineSignal and friends are plain descriptors, safe to import outside a workflow.)
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  CancelRequest,
  ChangePlanRequest,
  OperatorResumeRequest,
  OperatorSuspendRequest,
  StripeEventSignal,
  SubscriptionState,
} from '../core/subscription.js';
import type { ReplicaSetting, ServeApplication, ServeConfig } from '../core/serving.js';
import type { IngestError } from '../core/ingestion.js';
import type {
  CapacityDecision,
  CapacityObservation,
  CapacityPool,
  CapacitySettings,
} from '../core/capacity.js';
import type { GateResult, RolloutPhase, RolloutPlan } from '../core/rollout.js';
import type { ArchiveFile, DataRequestScope, ErasureOutcome, ExportStore } from '../core/data-requests.js';
import type { AuditVerificationSummary, BrokenChain } from '../activities/audit/index.js';
//
// Payload convention: every workflow and activity input and output is ONE object carrying the
// tenant's `orgId` (a UUID string). The PayloadCodec (runtime/codec.ts) has no workflow context,
// so it reads `orgId` from the payload and encrypts it with that tenant's data key; destroying
// the key shreds the tenant's histories. A payload without an orgId is encrypted with the platform
// key, so platform payloads must carry no tenant or personal data.
export interface OnboardingInput {
  orgId: string;
  orgName: string;
  ownerUserId: string;
  ownerEmail: string;
}

export interface OnboardingResult {
  orgId: string;
  status: 'active' | 'failed';
  reason?: string;
}

/** The registered workflow type names (the exported function names in workflows/index.ts). */
export const workflowTypes = {
  onboarding: 'onboarding',
  subscription: 'subscription',
  billingRun: 'billingRun',
  scheduledBillingRun: 'scheduledBillingRun',
  auditChainVerification: 'auditChainVerification',
  serveCluster: 'serveCluster',
  rollout: 'rollout',
  capacity: 'capacity',
  gdprExport: 'gdprExport',
  gdprErasure: 'gdprErasure',
  ingest: 'ingest',
} as const;

// --- The subscription lifecycle (`subscription/<orgId>`, workflows/subscription.ts) ---

export type {
  CancelRequest,
  ChangePlanRequest,
  OperatorResumeRequest,
  OperatorSuspendRequest,
  OperatorSuspension,
  StripeEventSignal,
  SubscriptionInput,
  SubscriptionState,
} from '../core/subscription.js';
export const subscriptionSignals = {
  stripeEvent: defineSignal<[StripeEventSignal]>('stripeEvent'),
} as const;

export const subscriptionUpdates = {
  /** Validated: an unknown plan, or fewer seats than members, is rejected with the reason. */
  changePlan: defineUpdate<SubscriptionState, [ChangePlanRequest]>('changePlan'),
  cancel: defineUpdate<SubscriptionState, [CancelRequest]>('cancel'),
  /**
   * A platform operator suspends the tenant until an operator resumes it, whatever its billing
   * status does meanwhile; validated (a reason, not already suspended, not canceled). Audited.
   */
  operatorSuspend: defineUpdate<SubscriptionState, [OperatorSuspendRequest]>('operatorSuspend'),
  /** Lifts an operator's suspension; refused when there is none. Audited. */
  operatorResume: defineUpdate<SubscriptionState, [OperatorResumeRequest]>('operatorResume'),
} as const;

export const subscriptionQueries = {
  state: defineQuery<SubscriptionState>('state'),
} as const;

// --- Billing runs (`billing/<window>`, workflows/billing-run.ts) ---

/** A platform payload (no tenant data): the window is [windowStart, windowStart + 1 hour). */
export interface BillingRunInput {
  windowStart: string;
  /** Tenants reported at once (BILLING_RUN_CONCURRENCY); 8 when absent. */
  concurrency?: number;
  /** Tenants per page: the run continues as new after each page, so its history stays bounded. */
  pageSize?: number;
  /** Where a continued run resumes, and what the run did so far. */
  progress?: BillingRunProgress;
}

export interface BillingRunProgress {
  /** The last tenant of the pages done (tenants are taken in org id order). */
  afterOrgId: string;
  tenants: number;
  meterEvents: number;
  lateTokens: number;
  /** Tenants whose report failed for good: the next run sweeps their usage (flagged late). */
  failedTenants: number;
}

/** What the Schedule starts every hour (a platform payload): the run picks its window from its scheduled time. */
export interface ScheduledBillingInput {
  watermarkMinutes: number;
  concurrency: number;
}

/**
 * The daily verification of every org's audit chain (a platform payload): started by the Schedule
 * with no input; a continued run carries where it stands.
 */
export interface AuditChainVerificationInput {
  /** Chains per page: the run continues as new after each page, so its history stays bounded. */
  pageSize?: number;
  progress?: AuditChainVerificationProgress;
}

export interface AuditChainVerificationProgress {
  /** The last org of the pages done (orgs are taken in id order). */
  afterOrgId: string;
  orgs: number;
  entries: number;
  broken: BrokenChain[];
}

export type AuditChainVerificationResult = AuditVerificationSummary;

export interface BillingRunResult {
  windowStart: string;
  tenants: number;
  meterEvents: number;
  /** Tokens reported in this window that belong to earlier windows' hours (arrived late). */
  lateTokens: number;
}

// --- The serving layer (`serve-cluster/<cluster>`, `rollout/<model>/<version>`, `capacity/<pool>`) ---
// Platform workflows: their payloads carry no orgId (platform key) and no tenant data.

export interface ServeClusterInput {
  cluster: string;
  dashboardUrl: string;
  httpOptions?: ServeConfig['http_options'];
  /** How often it compares the cluster's live applications with its own (default 30 s). */
  reconcileEverySeconds?: number;
  /** Carried over by continue-as-new. Without it the writer starts by adopting what the cluster runs. */
  state?: ServeClusterState;
}

/** What a cluster's writer holds: the applications it means to run, and where it applies them. */
export interface ServeClusterState {
  cluster: string;
  /** The cluster's dashboard, where the Serve REST API answers. */
  dashboardUrl: string;
  /** The desired applications, by name: the whole config the writer PUTs. */
  applications: ServeApplication[];
  /** Serve's proxy settings, kept as given (the PUT carries them each time). */
  httpOptions?: ServeConfig['http_options'];
  /** Applications it removed that the cluster may still be deleting: never adopted back. */
  removing: string[];
  /** How many times the writer has applied its state (a PUT). */
  applied: number;
  /** Applications adopted from the cluster because they ran there without the writer knowing. */
  adopted: string[];
}

/**
 * Changes to a cluster's applications. Every change goes through these updates: the writer is the
 * only caller of `PUT /api/serve/applications/`, so no change is lost to a concurrent PUT. Each
 * update returns once the new desired state has been applied (PUT accepted), not once it runs.
 */
export const serveClusterUpdates = {
  /** Adds or replaces one application (by name). */
  putApplication: defineUpdate<ServeClusterState, [ServeApplication]>('putApplication'),
  /** Removes one application; removing one that is not there is not an error. */
  removeApplication: defineUpdate<ServeClusterState, [{ application: string }]>('removeApplication'),
  /** Sets an application's replicas (every deployment's autoscaling bounds); validated: min ≤ max, max ≥ 1. */
  setReplicas: defineUpdate<ServeClusterState, [ReplicaSetting]>('setReplicas'),
} as const;

export const serveClusterQueries = {
  state: defineQuery<ServeClusterState>('state'),
} as const;

// --- GPU capacity (`capacity/<pool>`, workflows/capacity.ts) ---
// A platform workflow: no orgId, no tenant data. The rules are core/capacity.ts.

export type { CapacityDecision, CapacityObservation, CapacitySettings } from '../core/capacity.js';

/** One decision of the loop and what became of it. */
export interface CapacityRecord extends CapacityDecision {
  /** applied: the writer took it; recommended: dry-run; failed: the writer refused it; held: no change. */
  outcome: 'applied' | 'recommended' | 'failed' | 'held';
  error?: string;
}

export interface CapacityLoopState {
  /** The replicas the loop last set; null until its first sample (then Serve's running count). */
  current: number | null;
  lastChangeAt: number | null;
  paused: boolean;
  observations: CapacityObservation[];
  /** The newest decision, whatever it was (most are holds). */
  last: CapacityRecord | null;
  /** The last changes, recommendations and failures, newest last (bounded; holds are not kept). */
  decisions: CapacityRecord[];
  /** Changes applied over the loop's whole life (across continue-as-new). */
  changes: number;
}

export interface CapacityInput {
  pool: CapacityPool;
  settings: CapacitySettings;
  /** Carried over by continue-as-new. */
  state?: CapacityLoopState;
  /** Test hook: continue as new after this many history events instead of when Temporal suggests. */
  historyLimit?: number;
}

export interface CapacityView {
  pool: CapacityPool;
  settings: CapacitySettings;
  state: CapacityLoopState;
}

export const capacitySignals = {
  /** Stops deciding (samples stop too) until resumed; a change in progress finishes. */
  pause: defineSignal<[{ reason: string }]>('pause'),
  resume: defineSignal('resume'),
} as const;

export const capacityUpdates = {
  /** Changes some settings (dry-run included); validated: rejected with the reason, nothing changed. */
  configure: defineUpdate<CapacitySettings, [Partial<CapacitySettings>]>('configure'),
} as const;

export const capacityQueries = {
  /** The pool, its settings, and the loop's state with its last decisions. */
  state: defineQuery<CapacityView>('state'),
} as const;

// --- Model rollouts (`rollout/<model>/<version>`, workflows/rollout.ts) ---

export type {
  GateResult,
  HealthSample,
  RolloutGates,
  RolloutOptions,
  RolloutPhase,
  RolloutPlan,
  RolloutStep,
} from '../core/rollout.js';

/** A platform payload: the model and version by id and name, and the checked plan. */
export interface RolloutInput {
  modelId: string;
  /** The model's public name (the workflow id carries it: rollout/<model>/<version>). */
  model: string;
  version: string;
  plan: RolloutPlan;
}

export interface RolloutEvent {
  at: string;
  what: string;
}

export interface RolloutProgress {
  model: string;
  version: string;
  phase: RolloutPhase;
  paused: boolean;
  /** The step in force (index into plan.steps), -1 before the first. */
  step: number;
  /** The new version's share of the traffic now, in percent. */
  percent: number;
  /** The step waiting for an operator's approval, or null. */
  awaitingApproval: number | null;
  plan: RolloutPlan;
  /** The gates' last verdict. */
  lastGate: GateResult | null;
  /** Why the rollout rolled back or was aborted. */
  reason: string | null;
  /** What happened, oldest first (the last 50). */
  events: RolloutEvent[];
}

export interface RolloutResult {
  phase: 'succeeded' | 'rolled-back' | 'aborted';
  reason: string | null;
}

/**
 * Operators' controls, validated: each is refused (with the reason) when it does not apply, e.g.
 * approving while no step waits for approval, or pausing a rollout that is already draining.
 */
export const rolloutUpdates = {
  /** Holds at the current step: the next step waits; failing gates still roll back. */
  pause: defineUpdate<RolloutProgress, [{ reason?: string }]>('pause'),
  resume: defineUpdate<RolloutProgress, []>('resume'),
  /** Lets the step waiting for approval begin; `step`, if given, must be the one waiting. */
  approve: defineUpdate<RolloutProgress, [{ step?: number }]>('approve'),
  /** Rolls back: the current version takes all traffic again and the new one is unloaded. */
  abort: defineUpdate<RolloutProgress, [{ reason?: string }]>('abort'),
} as const;

export const rolloutQueries = {
  progress: defineQuery<RolloutProgress>('progress'),
} as const;

// --- GDPR export (`gdpr-export/<requestId>`, workflows/gdpr-export.ts) ---

export interface GdprExportInput {
  orgId: string;
  requestId: string;
  scope: DataRequestScope;
  /** The person whose data it is; null for the whole organization. */
  subjectUserId: string | null;
  /** The law's deadline (ISO 8601): past it, the request is flagged overdue. */
  dueAt: string;
}

export interface GdprExportProgress {
  orgId: string;
  phase: 'gathering' | 'archived' | 'expired';
  /** The stores written so far, with their files. */
  stores: { store: ExportStore; files: ArchiveFile[] }[];
  dueAt: string;
  overdue: boolean;
  finishedAt: string | null;
  manifestSha256: string | null;
  archiveExpiresAt: string | null;
}

export const gdprExportQueries = {
  progress: defineQuery<GdprExportProgress>('progress'),
};

// --- GDPR erasure (`gdpr-erasure/<requestId>`, workflows/gdpr-erasure.ts) ---
// The one exception to the payload convention: an organization's erasure destroys the tenant's data
// key, and its own history must stay readable after that. So its payloads name the tenant
// `erasedOrgId`, never `orgId`, and are sealed with the platform key; they carry ids and counts,
// no personal data.

export interface GdprErasureInput {
  erasedOrgId: string;
  requestId: string;
  scope: DataRequestScope;
  /** The person to erase; null for the whole organization. */
  subjectUserId: string | null;
  /** The end of the grace period (ISO 8601): until then the erasure can be cancelled. */
  graceEndsAt: string;
  /** The law's deadline (ISO 8601): past it, the request is flagged overdue. */
  dueAt: string;
}

export interface GdprErasureProgress {
  erasedOrgId: string;
  phase: 'grace' | 'cancelled' | 'blocked' | 'freezing' | 'erasing' | 'erased';
  graceEndsAt: string;
  dueAt: string;
  overdue: boolean;
  /** Why a legal hold blocks the erasure. */
  blockedReason: string | null;
  /** The stores erased so far, with what was done. */
  stores: ErasureOutcome[];
  finishedAt: string | null;
}

export const gdprErasureSignals = {
  /**
   * Cancels the erasure during its grace period; ignored once it has begun. The API decides first,
   * in the request's row (workflows/gdpr-erasure.ts explains the order).
   */
  cancel: defineSignal('cancel'),
};

export const gdprErasureQueries = {
  progress: defineQuery<GdprErasureProgress>('progress'),
};

// --- A file's ingestion into a vector store (`ingest/<fileId>/<vectorStoreId>`, workflows/ingest.ts) ---

export type { IngestError, IngestInput, IngestOutcome } from '../core/ingestion.js';

export interface IngestProgress {
  orgId: string;
  status: 'in_progress' | 'completed' | 'failed' | 'cancelled';
  /** The file's chunks, and how many are embedded and stored (known once chunking ran). */
  chunks: number | null;
  lastError: IngestError | null;
}

export const ingestQueries = {
  progress: defineQuery<IngestProgress>('progress'),
};
