// The subscription lifecycle as pure functions: a state and an event (a Stripe event, a timer, a
// plan change or a cancellation) give the next state and the effects to apply (entitlements, mails).
// The workflow (workflows/subscription.ts) only wires messages and timers to these and runs the
// effects through activities. Times are ISO strings in the state and epoch milliseconds as `now`.
import type {
  ChangePlanRequest,
  OperatorSuspendRequest,
  StripeEventSignal,
  SubscriptionInput,
  SubscriptionState,
} from './subscription.js';
import type { SubscriptionStatus } from './billing.js';
import { isPlanName, plan, type PlanName } from './plans.js';

const day = 24 * 60 * 60 * 1000;

export const lifecycleTimers = {
  /** The trial-ending reminder goes out this long before the trial ends. */
  trialReminderBeforeEndMs: 3 * day,
  /** After a failed payment the tenant keeps service this long, then is suspended. */
  graceMs: 7 * day,
  /** Dunning reminders, in days after the failed payment (day 0 is the payment-failed mail itself). */
  dunningReminderDays: [1, 3, 5],
} as const;

export type LifecycleMail =
  | 'trial_ending'
  | 'payment_failed'
  | 'dunning'
  | 'suspended'
  | 'reactivated'
  | 'canceled'
  | 'operator_suspended'
  | 'operator_resumed';

export type Effect =
  /** Write billing_accounts and the org's plan and subscription status (what the gateway enforces). */
  | { kind: 'entitlements' }
  /** One mail to the owners; `step` makes its idempotency key, so a repeated effect is one mail. */
  | { kind: 'mail'; mail: LifecycleMail; step: string };

export interface Transition {
  state: SubscriptionState;
  effects: Effect[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (value: string) => Date.parse(value);
const unchanged = (state: SubscriptionState): Transition => ({ state, effects: [] });
const entitlements: Effect = { kind: 'entitlements' };
const mail = (kind: LifecycleMail, step: string): Effect => ({ kind: 'mail', mail: kind, step });

/** The state of a new subscription: on trial when the plan has one, else active. */
export function initialState(input: SubscriptionInput, now: number): SubscriptionState {
  const trialDays = plan(input.plan).trialDays;
  const trialEndsAt = trialDays > 0 ? iso(now + trialDays * day) : null;
  return {
    orgId: input.orgId,
    status: trialEndsAt ? 'trialing' : 'active',
    plan: input.plan,
    seats: input.seats,
    stripeCustomerId: input.stripeCustomerId,
    stripeSubscriptionId: null,
    trialEndsAt,
    currentPeriodStart: iso(now),
    currentPeriodEnd: trialEndsAt,
    cancelAtPeriodEnd: false,
    pastDueSince: null,
    lastEventCreated: 0,
    lastEventIds: [],
    remindersSent: [],
    operatorSuspension: null,
  };
}

/** Moves to another status with what that move means: grace opened or closed, and its mail. */
function moveTo(state: SubscriptionState, status: SubscriptionStatus, at: string): Transition {
  if (state.status === status) return { state, effects: [entitlements] };
  const from = state.status;
  let next: SubscriptionState = { ...state, status };
  const effects: Effect[] = [entitlements];
  if (status === 'past_due') {
    next = { ...next, pastDueSince: at, remindersSent: next.remindersSent.filter((r) => !isDunning(r)) };
    effects.push(mail('payment_failed', `payment-failed/${at}`));
  } else if (status === 'active') {
    next = { ...next, pastDueSince: null, remindersSent: next.remindersSent.filter((r) => !isDunning(r)) };
    if (from === 'past_due' || from === 'suspended' || from === 'canceled')
      effects.push(mail('reactivated', `reactivated/${at}`));
  } else if (status === 'suspended') {
    effects.push(mail('suspended', `suspended/${at}`));
  } else if (status === 'canceled') {
    effects.push(mail('canceled', `canceled/${at}`));
  }
  return { state: next, effects };
}

const isDunning = (reminder: string) => reminder.startsWith('dunning-');

/** Stripe's subscription statuses mapped onto ours; null: no status change (incomplete, paused…). */
export function statusFromStripe(stripeStatus: string): SubscriptionStatus | null {
  switch (stripeStatus) {
    case 'trialing':
      return 'trialing';
    case 'active':
      return 'active';
    case 'past_due':
      return 'past_due';
    // Stripe gave up retrying the invoice: no more service until it is paid.
    case 'unpaid':
      return 'suspended';
    case 'canceled':
      return 'canceled';
    default:
      return null;
  }
}

/** Whether an event was applied already, or is older than one that was. */
export function isStale(state: SubscriptionState, event: StripeEventSignal): boolean {
  if (event.created < state.lastEventCreated) return true;
  return event.created === state.lastEventCreated && state.lastEventIds.includes(event.eventId);
}

function recordEvent(state: SubscriptionState, event: StripeEventSignal): SubscriptionState {
  const sameSecond = event.created === state.lastEventCreated;
  return {
    ...state,
    lastEventCreated: event.created,
    lastEventIds: sameSecond ? [...state.lastEventIds, event.eventId] : [event.eventId],
  };
}

/**
 * Applies a Stripe event by its `created`, not its arrival: an older or repeated event changes
 * nothing, and so does any event about the canceled subscription (canceled is final for it).
 */
export function applyStripeEvent(state: SubscriptionState, event: StripeEventSignal): Transition {
  if (isStale(state, event)) return unchanged(state);
  const sub = event.subscription;
  if (state.status === 'canceled') return resubscription(state, event);
  // Events about another subscription of the same customer are not this lifecycle's.
  if (sub && state.stripeSubscriptionId && sub.id !== state.stripeSubscriptionId) return unchanged(state);
  const at = iso(event.created * 1000);

  switch (event.type) {
    case 'invoice.paid':
    case 'invoice.payment_succeeded': {
      const recorded = recordEvent(state, event);
      // The trial's own $0 invoice is paid at the start: it converts nothing.
      if (state.status === 'trialing' && (event.invoice?.amountDue ?? 0) === 0) return unchanged(recorded);
      if (state.status === 'active') return { state: recorded, effects: [entitlements] };
      return moveTo(recorded, 'active', at);
    }
    case 'invoice.payment_failed': {
      const recorded = recordEvent(state, event);
      // Already in grace or suspended: Stripe's next retry failed too; the dunning timers go on.
      if (state.status === 'past_due' || state.status === 'suspended')
        return { state: recorded, effects: [entitlements] };
      return moveTo(recorded, 'past_due', at);
    }
    case 'customer.subscription.deleted':
      return moveTo(withSubscription(recordEvent(state, event), sub), 'canceled', at);
    case 'customer.subscription.trial_will_end': {
      const recorded = recordEvent(state, event);
      return recorded.status === 'trialing' ? remindTrialEnding(recorded) : unchanged(recorded);
    }
    default: {
      if (!sub || !event.type.startsWith('customer.subscription.')) return unchanged(state);
      const next = withSubscription(recordEvent(state, event), sub);
      const status = statusFromStripe(sub.status);
      return status ? moveTo(next, status, at) : { state: next, effects: [entitlements] };
    }
  }
}

/**
 * After a cancellation only a new subscription of the customer (the tenant paid through checkout
 * again) moves the lifecycle: it adopts the new subscription and its status.
 */
function resubscription(state: SubscriptionState, event: StripeEventSignal): Transition {
  const sub = event.subscription;
  const starts =
    event.type === 'customer.subscription.created' || event.type === 'customer.subscription.updated';
  const status = sub ? statusFromStripe(sub.status) : null;
  if (
    !sub ||
    !starts ||
    sub.id === state.stripeSubscriptionId ||
    (status !== 'active' && status !== 'trialing')
  )
    return unchanged(state);
  const next = withSubscription(recordEvent({ ...state, cancelAtPeriodEnd: false }, event), sub);
  return moveTo(next, status, iso(event.created * 1000));
}

function withSubscription(
  state: SubscriptionState,
  sub: StripeEventSignal['subscription'],
): SubscriptionState {
  if (!sub) return state;
  return {
    ...state,
    stripeSubscriptionId: sub.id,
    // The plan and seats our checkout put on the subscription (a plan changed through Stripe's portal).
    plan: sub.plan !== null && isPlanName(sub.plan) ? sub.plan : state.plan,
    seats: sub.seats ?? state.seats,
    currentPeriodStart:
      sub.currentPeriodStart === null ? state.currentPeriodStart : iso(sub.currentPeriodStart * 1000),
    currentPeriodEnd:
      sub.currentPeriodEnd === null ? state.currentPeriodEnd : iso(sub.currentPeriodEnd * 1000),
    trialEndsAt: sub.trialEnd === null ? state.trialEndsAt : iso(sub.trialEnd * 1000),
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
  };
}

function remindTrialEnding(state: SubscriptionState): Transition {
  if (state.remindersSent.includes('trial-ending') || !state.trialEndsAt) return unchanged(state);
  return {
    state: { ...state, remindersSent: [...state.remindersSent, 'trial-ending'] },
    effects: [mail('trial_ending', `trial-ending/${state.trialEndsAt}`)],
  };
}

/** The moments the lifecycle acts on by itself, for the current state. */
function timerPoints(state: SubscriptionState): Array<{ at: number; name: string }> {
  const points: Array<{ at: number; name: string }> = [];
  if (state.status === 'trialing' && state.trialEndsAt) {
    const end = ms(state.trialEndsAt);
    if (!state.remindersSent.includes('trial-ending'))
      points.push({ at: end - lifecycleTimers.trialReminderBeforeEndMs, name: 'trial-ending' });
    points.push({ at: end, name: 'trial-end' });
  }
  if (state.status === 'past_due' && state.pastDueSince) {
    const since = ms(state.pastDueSince);
    for (const d of lifecycleTimers.dunningReminderDays) {
      if (!state.remindersSent.includes(`dunning-${d}`))
        points.push({ at: since + d * day, name: `dunning-${d}` });
    }
    points.push({ at: since + lifecycleTimers.graceMs, name: 'grace-end' });
  }
  if (state.cancelAtPeriodEnd && state.currentPeriodEnd && state.status !== 'canceled')
    points.push({ at: ms(state.currentPeriodEnd), name: 'period-end' });
  return points;
}

/** When the next timer falls due (epoch ms), or null when the lifecycle only waits for messages. */
export function nextTimerAt(state: SubscriptionState): number | null {
  const points = timerPoints(state);
  return points.length === 0 ? null : Math.min(...points.map((p) => p.at));
}

/** Applies every timer due at `now`: reminders, trial end, grace end, cancellation at period end. */
export function applyDueTimers(state: SubscriptionState, now: number): Transition {
  let current = state;
  const effects: Effect[] = [];
  const due = timerPoints(state)
    .filter((p) => p.at <= now)
    .sort((a, b) => a.at - b.at);
  // Several dunning reminders due at once (a worker was down for days): only the latest is mailed.
  const lastDunning = due.filter((p) => isDunning(p.name)).at(-1);
  for (const point of due) {
    let step: Transition;
    if (point.name === 'trial-ending') step = remindTrialEnding(current);
    // Stripe charges at the trial's end; its next period end arrives with the subscription's update.
    else if (point.name === 'trial-end')
      step = moveTo(
        { ...current, currentPeriodStart: iso(point.at), currentPeriodEnd: null },
        'active',
        iso(point.at),
      );
    else if (point.name === 'grace-end') step = moveTo(current, 'suspended', iso(point.at));
    else if (point.name === 'period-end') step = moveTo(current, 'canceled', iso(point.at));
    else {
      const sent = { ...current, remindersSent: [...current.remindersSent, point.name] };
      const mails = point === lastDunning ? [mail('dunning', `${point.name}/${current.pastDueSince}`)] : [];
      step = { state: sent, effects: mails };
    }
    current = step.state;
    effects.push(...step.effects);
  }
  return { state: current, effects: dedupe(effects) };
}

function dedupe(effects: Effect[]): Effect[] {
  const seen = new Set<string>();
  return effects.filter((e) => {
    const id = e.kind === 'mail' ? `mail:${e.step}` : e.kind;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Why a plan change is refused (the API shows it), or null when it may go ahead. */
export function planChangeRejection(state: SubscriptionState, request: ChangePlanRequest): string | null {
  if (state.status === 'canceled') return 'the subscription is canceled; start a new one instead';
  if (!isPlanName(request.plan)) return `unknown plan "${request.plan}"`;
  if (!Number.isInteger(request.seats) || request.seats < 1)
    return 'seats must be a whole number of at least 1';
  if (request.seats < request.members)
    return `${request.seats} seats are fewer than the organization's ${request.members} members`;
  const allowed = plan(request.plan).seats;
  if (request.seats > allowed) return `the ${request.plan} plan allows at most ${allowed} seats`;
  return null;
}

export function applyPlanChange(state: SubscriptionState, planName: PlanName, seats: number): Transition {
  return { state: { ...state, plan: planName, seats }, effects: [entitlements] };
}

/** Why a cancellation is refused, or null. */
export function cancelRejection(state: SubscriptionState): string | null {
  return state.status === 'canceled' ? 'the subscription is already canceled' : null;
}

/** Cancels now, or marks the subscription to end with its paid period (the period-end timer ends it). */
export function applyCancel(state: SubscriptionState, atPeriodEnd: boolean, now: number): Transition {
  if (atPeriodEnd) return { state: { ...state, cancelAtPeriodEnd: true }, effects: [entitlements] };
  return moveTo(state, 'canceled', iso(now));
}

/** Why an operator's suspension is refused, or null. */
export function operatorSuspendRejection(
  state: SubscriptionState,
  request: OperatorSuspendRequest,
): string | null {
  if (request.reason.trim() === '') return 'a suspension needs a reason';
  if (state.operatorSuspension) return 'the organization is already suspended by an operator';
  if (state.status === 'canceled') return 'the subscription is canceled: there is no service to suspend';
  return null;
}

/** Suspends the tenant (its billing status goes on underneath) and tells its owners. */
export function applyOperatorSuspend(
  state: SubscriptionState,
  request: OperatorSuspendRequest,
  now: number,
): Transition {
  const since = iso(now);
  return {
    state: { ...state, operatorSuspension: { reason: request.reason, since, by: request.operatorId } },
    effects: [entitlements, mail('operator_suspended', `operator-suspended/${since}`)],
  };
}

/** Why an operator's resumption is refused, or null. */
export function operatorResumeRejection(state: SubscriptionState): string | null {
  return state.operatorSuspension ? null : 'the organization is not suspended by an operator';
}

/** Lifts the operator's suspension: the tenant is back to its billing status. */
export function applyOperatorResume(state: SubscriptionState, now: number): Transition {
  return {
    state: { ...state, operatorSuspension: null },
    effects: [entitlements, mail('operator_resumed', `operator-resumed/${iso(now)}`)],
  };
}
