// The path the worker bundles: every workflow, re-exported.
export { onboarding } from './onboarding.js';
export { billingRun, scheduledBillingRun } from './billing-run.js';
export { auditChainVerification } from './audit-verification.js';
export { subscription } from './subscription.js';
export { serveCluster } from './serve-cluster.js';
export { capacity } from './capacity.js';
export { rollout } from './rollout.js';
export { gdprExport } from './gdpr-export.js';
export { gdprErasure } from './gdpr-erasure.js';
export { ingest } from './ingest.js';
