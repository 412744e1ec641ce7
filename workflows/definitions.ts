// Workflow inputs, outputs and messages: what the API imports to start and talk to workflows.
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
} as const;
