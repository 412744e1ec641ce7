// Tenant onboarding, a saga: each step is an idempotent activity; a step that fails for good
// (a non-retryable failure, or its preset's deadline passed) undoes the earlier steps in reverse
// and leaves the org 'failed' with a reason, never half a tenant.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  TimeoutFailure,
  isCancellation,
  log,
  patched,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import {
  RetryState,
  TypedSearchAttributes,
  WorkflowExecutionAlreadyStartedError,
  defineSearchAttributeKey,
} from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { BillingAccountRef } from '../activities/billing-account.js';
import { activityPresets, searchAttributes, workflowIds } from '../temporal.config.js';
import { workflowTypes, type OnboardingInput, type OnboardingResult } from './definitions.js';
import type { subscription } from './subscription.js';

const database = proxyActivities<Activities>(activityPresets.database);
const external = proxyActivities<Activities>(activityPresets.external);
const compensation = proxyActivities<Activities>(activityPresets.compensation);

/** What the org's admins read as the failure reason, per activity. */
const stepNames: Partial<Record<keyof Activities, string>> = {
  initializeOrgSettings: 'writing the default settings',
  ensureOwnerMembership: 'adding the owner',
  recordAuditEntry: 'recording the audit log',
  enqueueWelcomeMail: 'queueing the welcome mail',
  deliverMail: 'sending the welcome mail',
  markOrgActive: 'activating the organization',
  createStripeCustomer: 'creating the Stripe customer',
  openBillingAccount: 'opening the billing account',
};

/** Onboardings recorded before billing existed replay without its steps (see `patched`). */
const billingPatch = 'onboarding-billing';
const orgIdKey = defineSearchAttributeKey(searchAttributes.orgId, 'KEYWORD');

/**
 * Starts the tenant's subscription lifecycle, which outlives onboarding (ABANDON). A Stripe webhook
 * may have started it first (signalWithStart): then it is running already, and that is fine.
 */
async function startSubscription(account: BillingAccountRef): Promise<void> {
  try {
    await startChild<typeof subscription>(workflowTypes.subscription, {
      workflowId: workflowIds.subscription(account.orgId),
      args: [
        {
          orgId: account.orgId,
          plan: account.plan,
          seats: account.seats,
          stripeCustomerId: account.stripeCustomerId,
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: new TypedSearchAttributes([{ key: orgIdKey, value: account.orgId }]),
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

export function failureReason(err: unknown): string {
  if (isCancellation(err)) return 'onboarding was cancelled';
  if (!(err instanceof ActivityFailure)) return 'onboarding failed';
  const step = stepNames[err.activityType as keyof Activities] ?? err.activityType;
  // A deadline passing shows either as a timeout, or as the last attempt's failure with the
  // retry state saying no attempt fits before schedule-to-close.
  if (err.cause instanceof TimeoutFailure || err.retryState === RetryState.TIMEOUT)
    return `${step} did not succeed in time`;
  if (err.cause instanceof ApplicationFailure && err.cause.nonRetryable)
    return `${step} failed: ${err.cause.message}`;
  return `${step} failed`;
}

export async function onboarding(input: OnboardingInput): Promise<OnboardingResult> {
  const { orgId, ownerUserId } = input;
  const { workflowId } = workflowInfo();
  const stepKey = (step: string) => `${workflowId}/${step}`;
  const audit = (
    step: string,
    action: string,
    targetType: string,
    targetId: string,
    details: Record<string, unknown> = {},
  ) =>
    database.recordAuditEntry({
      orgId,
      idempotencyKey: stepKey(step),
      actorId: ownerUserId,
      action,
      targetType,
      targetId,
      details: { workflowId, ...details },
    });
  // Registered before each step runs: a step that timed out may still have applied.
  const undo: Array<() => Promise<unknown>> = [];

  try {
    undo.unshift(() => compensation.removeDefaultSettings({ orgId }));
    await database.initializeOrgSettings({ orgId });
    await audit('audit-settings', 'org.settings_initialized', 'organization', orgId);

    undo.unshift(() => compensation.removeOwnerMembership({ orgId, userId: ownerUserId }));
    await database.ensureOwnerMembership({ orgId, userId: ownerUserId });
    await audit('audit-owner', 'membership.created', 'membership', ownerUserId, { role: 'owner' });

    const mailKey = stepKey('welcome-mail');
    undo.unshift(() => compensation.cancelUnsentMail({ orgId, idempotencyKey: mailKey }));
    const { outboxId } = await database.enqueueWelcomeMail({
      orgId,
      idempotencyKey: mailKey,
      to: input.ownerEmail,
      orgName: input.orgName,
    });
    await external.deliverMail({ orgId, outboxId });

    let account: BillingAccountRef | undefined;
    if (patched(billingPatch)) {
      const { customerId } = await external.createStripeCustomer({
        orgId,
        idempotencyKey: stepKey('stripe-customer'),
        orgName: input.orgName,
        ownerEmail: input.ownerEmail,
      });
      // null: billing is not configured on this platform; the tenant runs on its plan unbilled.
      if (customerId !== null) {
        undo.unshift(() => compensation.deleteStripeCustomer({ orgId, customerId }));
        undo.unshift(() => compensation.closeBillingAccount({ orgId }));
        account = await database.openBillingAccount({ orgId, stripeCustomerId: customerId });
      }
    }

    await database.markOrgActive({ orgId });
    await audit('audit-activated', 'org.activated', 'organization', orgId);
    if (account) await startSubscription(account);
    return { orgId, status: 'active' };
  } catch (err) {
    if (!(err instanceof ActivityFailure) && !isCancellation(err)) throw err;
    const reason = failureReason(err);
    log.warn('onboarding failed; compensating', { orgId, reason });
    // Compensation runs to the end even when the workflow itself was cancelled.
    await CancellationScope.nonCancellable(async () => {
      for (const step of undo) await step();
      await compensation.markOrgFailed({ orgId, reason });
      await compensation.recordAuditEntry({
        orgId,
        idempotencyKey: stepKey('audit-failed'),
        actorId: ownerUserId,
        action: 'org.onboarding_failed',
        targetType: 'organization',
        targetId: orgId,
        details: { workflowId, reason },
      });
    });
    if (isCancellation(err)) throw err;
    return { orgId, status: 'failed', reason };
  }
}
