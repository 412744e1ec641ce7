// Workflow inputs, outputs and messages: what the API imports to start and talk to workflows.
// Every payload object carries orgId: the PayloadCodec encrypts it with that tenant's data key.
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
} as const;
