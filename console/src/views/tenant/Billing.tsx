import { Table } from '../../ui/table';
import { useParams } from 'react-router';
import { useApiMutation, useApiQuery } from '../../api/client';
import { Button, Choice, Form, TextInput } from '../../ui/forms';
import { EmptyState, ErrorNotice, Loaded, Success } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';

interface BillingAccount {
  plan: string;
  status: string;
  seats: number;
  trialEndsAt: string | null;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
}

interface BillingUsage {
  usedTokens: number;
  includedTokens: number;
  percent: number;
  overageTokens: number;
  overage: 'bill' | 'block';
}

interface Invoice {
  id: string;
  number: string | null;
  status: string | null;
  amountDue: number;
  currency: string;
  periodStart: string;
  periodEnd: string;
  hostedInvoiceUrl: string | null;
}

const plans = [
  { id: 'free', label: 'Free' },
  { id: 'developer', label: 'Developer' },
  { id: 'team', label: 'Team' },
  { id: 'enterprise', label: 'Enterprise' },
] as const;

function money(cents: number, currency: string): string {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(
    cents / 100,
  );
}

function QuotaNotice({ usage }: { usage: BillingUsage }) {
  if (usage.percent < 80) return null;
  const text =
    usage.percent >= 100
      ? usage.overage === 'block'
        ? 'The plan’s tokens are used up: requests are refused until the next period or a bigger plan.'
        : `The plan’s tokens are used up: ${usage.overageTokens} tokens past them are billed as overage.`
      : `${usage.percent}% of the plan’s tokens are used this period.`;
  return (
    <p role="status" className="notice warning">
      {text}
    </p>
  );
}

export function Billing() {
  const { orgId = '' } = useParams();
  const base = `/api/orgs/${orgId}/billing`;
  const account = useApiQuery<BillingAccount>(base);
  const usage = useApiQuery<BillingUsage>(`${base}/usage`);
  const invoices = useApiQuery<{ invoices: Invoice[] }>(`${base}/invoices`);
  const changePlan = useApiMutation<BillingAccount, FormData>(
    (values) => ({
      method: 'POST',
      path: `${base}/plan`,
      body: { plan: values.get('plan'), seats: Number(values.get('seats')) },
    }),
    [base],
  );
  const checkout = useApiMutation<{ url: string }, FormData>((values) => ({
    method: 'POST',
    path: `${base}/checkout`,
    body: { plan: values.get('plan') },
  }));
  const portal = useApiMutation<{ url: string }, void>(() => ({ method: 'POST', path: `${base}/portal` }));
  const cancel = useApiMutation<BillingAccount, void>(
    () => ({ method: 'POST', path: `${base}/cancel`, body: { atPeriodEnd: true } }),
    [base],
  );
  return (
    <Page title="Billing">
      <Loaded query={account} what="the billing account">
        {(a) => (
          <dl className="facts">
            <dt>Plan</dt>
            <dd data-testid="billing-plan">{a.plan}</dd>
            <dt>Status</dt>
            <dd>{a.status}</dd>
            <dt>Seats</dt>
            <dd>{a.seats}</dd>
            <dt>Trial ends</dt>
            <dd>{formatTime(a.trialEndsAt)}</dd>
            <dt>Current period</dt>
            <dd>
              {formatTime(a.currentPeriodStart)} – {formatTime(a.currentPeriodEnd)}
            </dd>
            {a.cancelAtPeriodEnd ? (
              <>
                <dt>Cancellation</dt>
                <dd>Ends at the end of the period</dd>
              </>
            ) : null}
          </dl>
        )}
      </Loaded>
      {usage.data ? (
        <Section title="This period's tokens">
          <QuotaNotice usage={usage.data} />
          <p>
            {usage.data.usedTokens} of {usage.data.includedTokens} included tokens ({usage.data.percent}%).
          </p>
          <progress
            max={100}
            value={Math.min(usage.data.percent, 100)}
            aria-label="Share of the included tokens used"
          />
        </Section>
      ) : null}
      <Section title="Change plan">
        <Form label="Change plan" error={changePlan.error} onSubmit={(values) => changePlan.mutate(values)}>
          <Choice name="plan" label="Plan" options={plans} defaultValue="team" />
          <TextInput
            name="seats"
            label="Seats"
            type="number"
            defaultValue="1"
            isRequired
            description="At least the members the organization has."
          />
          <Button type="submit" isDisabled={changePlan.isPending}>
            Change plan
          </Button>
        </Form>
        {changePlan.data ? (
          <Success>
            <p>
              The plan is now {changePlan.data.plan} with {changePlan.data.seats} seats.
            </p>
          </Success>
        ) : null}
      </Section>
      <Section title="Payment">
        <Form
          label="Pay through Stripe Checkout"
          error={checkout.error}
          onSubmit={(values) => checkout.mutate(values)}
        >
          <Choice name="plan" label="Plan to buy" options={plans} defaultValue="developer" />
          <Button type="submit" isDisabled={checkout.isPending}>
            Open Stripe Checkout
          </Button>
        </Form>
        {checkout.data ? (
          <p>
            <a href={checkout.data.url}>Continue to Stripe Checkout</a>
          </p>
        ) : null}
        <div className="actions">
          <Button variant="secondary" onPress={() => portal.mutate()}>
            Open the billing portal
          </Button>
          <Button variant="danger" onPress={() => cancel.mutate()}>
            Cancel at the end of the period
          </Button>
        </div>
        {portal.data ? (
          <p>
            <a href={portal.data.url}>Continue to Stripe’s billing portal</a>
          </p>
        ) : null}
        {portal.error ? <ErrorNotice error={portal.error} /> : null}
        {cancel.error ? <ErrorNotice error={cancel.error} /> : null}
      </Section>
      <Section title="Invoices">
        <Loaded query={invoices} what="the invoices">
          {({ invoices: items }) =>
            items.length === 0 ? (
              <EmptyState title="No invoices yet." />
            ) : (
              <Table columns={['Number', 'Period', 'Amount', 'Status']}>
                {items.map((i) => (
                  <tr key={i.id}>
                    <td>
                      {i.hostedInvoiceUrl ? (
                        <a href={i.hostedInvoiceUrl}>{i.number ?? i.id}</a>
                      ) : (
                        (i.number ?? i.id)
                      )}
                    </td>
                    <td>
                      {formatTime(i.periodStart)} – {formatTime(i.periodEnd)}
                    </td>
                    <td>{money(i.amountDue, i.currency)}</td>
                    <td>{i.status ?? '—'}</td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Loaded>
      </Section>
    </Page>
  );
}
