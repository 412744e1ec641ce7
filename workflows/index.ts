// The path the worker bundles: every workflow, re-exported.
export { onboarding } from './onboarding.js';
export { subscription } from './subscription.js';
