// The lifecycle's mails to an organization's owners: subject and text per kind. Pure, so the
// workflow composes them and the outbox activity only records what it is given.
import { servesInference } from './billing.js';
import type { SubscriptionState } from './subscription.js';
import { lifecycleTimers, type LifecycleMail } from './subscription-lifecycle.js';

export interface LifecycleMailContent {
  template: string;
  subject: string;
  text: string;
}

const date = (value: string | null) => (value ? value.slice(0, 10) : 'soon');
const graceDays = lifecycleTimers.graceMs / (24 * 60 * 60 * 1000);

function graceEnd(state: SubscriptionState): string | null {
  return state.pastDueSince
    ? new Date(Date.parse(state.pastDueSince) + lifecycleTimers.graceMs).toISOString()
    : null;
}

export function lifecycleMail(kind: LifecycleMail, state: SubscriptionState): LifecycleMailContent {
  const sign = ['', '— Vlinders'];
  switch (kind) {
    case 'trial_ending':
      return {
        template: 'billing.trial_ending',
        subject: `Your Vlinders trial ends on ${date(state.trialEndsAt)}`,
        text: [
          `Your trial of the ${state.plan} plan ends on ${date(state.trialEndsAt)}.`,
          'After that your subscription continues and the payment method on file is charged.',
          'To change plan or cancel, open Billing in your organization settings.',
          ...sign,
        ].join('\n'),
      };
    case 'payment_failed':
      return {
        template: 'billing.payment_failed',
        subject: 'Your Vlinders payment failed',
        text: [
          'We could not collect your latest payment.',
          `Your service continues for ${graceDays} days, until ${date(graceEnd(state))}; please update your payment method before then.`,
          ...sign,
        ].join('\n'),
      };
    case 'dunning':
      return {
        template: 'billing.payment_reminder',
        subject: `Reminder: your Vlinders payment is overdue (service stops on ${date(graceEnd(state))})`,
        text: [
          'Your latest payment is still outstanding.',
          `API access is suspended on ${date(graceEnd(state))} unless the invoice is paid.`,
          ...sign,
        ].join('\n'),
      };
    case 'suspended':
      return {
        template: 'billing.suspended',
        subject: 'Your Vlinders API access is suspended',
        text: [
          'Your invoice was not paid within the grace period, so API requests are refused.',
          'Your data is kept. Pay the open invoice under Billing and access returns within seconds.',
          ...sign,
        ].join('\n'),
      };
    case 'reactivated':
      return {
        template: 'billing.reactivated',
        subject: 'Payment received: your Vlinders subscription is active',
        text: ['Thank you: your payment was received and your subscription is active again.', ...sign].join(
          '\n',
        ),
      };
    case 'operator_suspended':
      return {
        template: 'account.suspended',
        subject: 'Your Vlinders API access is suspended',
        text: [
          'Vlinders has suspended API access for your organization, so API requests are refused.',
          'Your data is kept. Please contact Vlinders support to have access restored.',
          ...sign,
        ].join('\n'),
      };
    case 'operator_resumed':
      return {
        template: 'account.resumed',
        subject: 'The suspension of your Vlinders organization has ended',
        text: [
          servesInference(state.status)
            ? 'The suspension of your organization has ended: API requests are served again.'
            : `The suspension by Vlinders has ended, but your subscription is ${state.status}, so API requests are still refused.`,
          ...sign,
        ].join('\n'),
      };
    case 'canceled':
      return {
        template: 'billing.canceled',
        subject: 'Your Vlinders subscription is canceled',
        text: [
          `Your ${state.plan} subscription is canceled and API access has ended.`,
          'Your data is kept according to your retention settings.',
          ...sign,
        ].join('\n'),
      };
  }
}
