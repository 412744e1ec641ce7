// The subscription lifecycle of one tenant (`subscription/<orgId>`), an entity workflow for the
// tenant's whole life. Stripe events arrive as signals, plan changes, cancellations and operators'
// suspensions as validated updates; timers drive the trial and the grace period. The rules are in core/subscription-lifecycle.ts:
// this file wires messages and timers to them and applies their effects through activities.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { isPlanName } from '../core/plans.js';
import {
  applyCancel,
  applyDueTimers,
  applyOperatorResume,
  applyOperatorSuspend,
  applyPlanChange,
  applyStripeEvent,
  cancelRejection,
  initialState,
  nextTimerAt,
  operatorResumeRejection,
  operatorSuspendRejection,
  planChangeRejection,
  type Effect,
  type Transition,
} from '../core/subscription-lifecycle.js';
import { lifecycleMail } from '../core/subscription-mail.js';
import { activityPresets } from '../temporal.config.js';
import {
  subscriptionQueries,
  subscriptionSignals,
  subscriptionUpdates,
  type CancelRequest,
  type ChangePlanRequest,
  type OperatorResumeRequest,
  type OperatorSuspendRequest,
  type StripeEventSignal,
  type SubscriptionInput,
  type SubscriptionState,
} from './definitions.js';

const durable = proxyActivities<Activities>(activityPresets.durable);
const database = proxyActivities<Activities>(activityPresets.database);
const external = proxyActivities<Activities>(activityPresets.external);

const rejected = (message: string) =>
  ApplicationFailure.create({ type: 'VALIDATION', nonRetryable: true, message });

export async function subscription(input: SubscriptionInput): Promise<void> {
  const { workflowId } = workflowInfo();
  const stepKey = (step: string) => `${workflowId}/${step}`;
  const { orgId } = input;
  // A state carried over from before operators' suspensions existed has no such field.
  let state: SubscriptionState = input.state
    ? { ...input.state, operatorSuspension: input.state.operatorSuspension ?? null }
    : initialState(input, Date.now());
  const inbox: StripeEventSignal[] = [];
  let busy = false;

  /** One change at a time: the loop and the update handlers take turns on the state. */
  async function exclusive<T>(change: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      return await change();
    } finally {
      busy = false;
    }
  }

  async function apply({ state: next, effects }: Transition): Promise<void> {
    if (next.status !== state.status)
      log.info('subscription status changed', { orgId, from: state.status, to: next.status });
    state = next;
    for (const effect of effects) {
      if (effect.kind === 'entitlements') await durable.applyEntitlements(state);
      else await sendMail(effect);
    }
  }

  /** A mail that cannot be sent is logged; it never stops the lifecycle. */
  async function sendMail(effect: Extract<Effect, { kind: 'mail' }>): Promise<void> {
    try {
      const ref = await database.enqueueOwnerMail({
        orgId,
        idempotencyKey: stepKey(`mail/${effect.step}`),
        ...lifecycleMail(effect.mail, state),
      });
      await external.deliverMail(ref);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('billing mail not sent', { orgId, mail: effect.mail, error: err.message });
    }
  }

  setHandler(subscriptionSignals.stripeEvent, (event) => {
    inbox.push(event);
  });
  setHandler(subscriptionQueries.state, () => state);

  setHandler(
    subscriptionUpdates.changePlan,
    async (request) => {
      await subscriptionCreated();
      return exclusive(async () => {
        // The state may have changed between validation and now (an event applied meanwhile).
        const reason = planChangeRejection(state, request);
        if (reason !== null || !isPlanName(request.plan)) throw rejected(reason ?? 'unknown plan');
        await external.changeSubscriptionPlan({
          orgId,
          idempotencyKey: stepKey(`change-plan/${new Date().toISOString()}-${workflowInfo().historyLength}`),
          subscriptionId: state.stripeSubscriptionId!,
          plan: request.plan,
          seats: request.seats,
        });
        await apply(applyPlanChange(state, request.plan, request.seats));
        return state;
      });
    },
    {
      validator: (request: ChangePlanRequest) => {
        const reason = planChangeRejection(state, request);
        if (reason !== null) throw rejected(reason);
      },
    },
  );

  setHandler(
    subscriptionUpdates.cancel,
    async (request) => {
      await subscriptionCreated();
      return exclusive(async () => {
        const reason = cancelRejection(state);
        if (reason !== null) throw rejected(reason);
        const when = request.atPeriodEnd ? 'at-period-end' : 'now';
        await external.cancelSubscription({
          orgId,
          idempotencyKey: stepKey(`cancel/${when}/${new Date().toISOString()}`),
          subscriptionId: state.stripeSubscriptionId!,
          atPeriodEnd: request.atPeriodEnd,
        });
        await apply(applyCancel(state, request.atPeriodEnd, Date.now()));
        return state;
      });
    },
    {
      validator: (_request: CancelRequest) => {
        const reason = cancelRejection(state);
        if (reason !== null) throw rejected(reason);
      },
    },
  );

  /** An operator's suspension or resumption, recorded in the org's audit log as that operator's. */
  async function auditOperator(action: string, step: string, operatorId: string, reason: string | null) {
    await durable.recordAuditEntry({
      orgId,
      idempotencyKey: stepKey(step),
      actorId: operatorId,
      action,
      targetType: 'organization',
      targetId: orgId,
      details: { workflowId, reason, status: state.status },
    });
  }

  setHandler(
    subscriptionUpdates.operatorSuspend,
    (request) =>
      exclusive(async () => {
        const reason = operatorSuspendRejection(state, request);
        if (reason !== null) throw rejected(reason);
        await apply(applyOperatorSuspend(state, request, Date.now()));
        await auditOperator(
          'subscription.operator_suspended',
          `operator-suspend/${state.operatorSuspension!.since}`,
          request.operatorId,
          request.reason,
        );
        return state;
      }),
    {
      validator: (request: OperatorSuspendRequest) => {
        const reason = operatorSuspendRejection(state, request);
        if (reason !== null) throw rejected(reason);
      },
    },
  );

  setHandler(
    subscriptionUpdates.operatorResume,
    (request) =>
      exclusive(async () => {
        const reason = operatorResumeRejection(state);
        if (reason !== null) throw rejected(reason);
        const at = new Date().toISOString();
        await apply(applyOperatorResume(state, Date.now()));
        await auditOperator(
          'subscription.operator_resumed',
          `operator-resume/${at}`,
          request.operatorId,
          request.reason ?? null,
        );
        return state;
      }),
    {
      validator: (_request: OperatorResumeRequest) => {
        const reason = operatorResumeRejection(state);
        if (reason !== null) throw rejected(reason);
      },
    },
  );

  /** Updates wait (without holding the turn) until the first step has created the Stripe subscription. */
  function subscriptionCreated(): Promise<void> {
    return condition(() => state.stripeSubscriptionId !== null);
  }

  // First step of a new lifecycle: the subscription in Stripe, with the plan's trial.
  if (state.stripeSubscriptionId === null) {
    await exclusive(async () => {
      const created = await durable.createTrialSubscription({
        orgId,
        idempotencyKey: stepKey('create-subscription'),
        customerId: state.stripeCustomerId,
        plan: state.plan,
        seats: state.seats,
      });
      await apply({
        state: { ...state, stripeSubscriptionId: created.subscriptionId },
        effects: [{ kind: 'entitlements' }],
      });
    });
  }

  for (;;) {
    const next = nextTimerAt(state);
    if (inbox.length === 0 && (next === null || next > Date.now())) {
      // Wakes for a Stripe event, a change of timers (an update), or the next timer.
      const wake = () => inbox.length > 0 || nextTimerAt(state) !== next;
      if (next === null) await condition(wake);
      else await condition(wake, next - Date.now());
    }
    await exclusive(async () => {
      while (inbox.length > 0) await apply(applyStripeEvent(state, inbox.shift()!));
      await apply(applyDueTimers(state, Date.now()));
    });

    const info = workflowInfo();
    if (
      info.continueAsNewSuggested ||
      (input.historyLimit !== undefined && info.historyLength >= input.historyLimit)
    ) {
      await condition(() => allHandlersFinished() && !busy);
      if (inbox.length === 0) {
        await continueAsNew<typeof subscription>({
          orgId,
          plan: state.plan,
          seats: state.seats,
          stripeCustomerId: state.stripeCustomerId,
          state,
          ...(input.historyLimit !== undefined && { historyLimit: input.historyLimit }),
        });
      }
    }
  }
}
