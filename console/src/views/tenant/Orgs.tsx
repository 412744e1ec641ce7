import { Link } from 'react-router';
import { Table } from '../../ui/table';
import { useApiMutation, useApiQuery } from '../../api/client';
import type { List, Org } from '../../api/types';
import { Button, Form, optionalText, TextInput } from '../../ui/forms';
import { EmptyState, Loaded } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';
import { OrgStatus } from './OrgStatus';

export function Orgs() {
  // While an org is onboarding (a workflow), its status is read again every two seconds.
  const orgs = useApiQuery<List<Org>>('/api/orgs', {
    refetchInterval: (query) =>
      query.state.data?.items.some((o) => o.status === 'onboarding') ? 2_000 : false,
  });
  const create = useApiMutation<{ orgId: string }, FormData>(
    (values) => ({
      method: 'POST',
      path: '/api/orgs',
      body: { name: values.get('name'), slug: optionalText(values, 'slug') },
    }),
    ['/api/orgs'],
  );
  return (
    <Page title="Organizations" intro="Each organization is a tenant: its own members, keys, usage and bill.">
      <Loaded query={orgs} what="your organizations">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="You are in no organization yet.">
              <p>Create one below, or accept an invitation from the mail you were sent.</p>
            </EmptyState>
          ) : (
            <Table columns={['Name', 'Status', 'Your role', 'Created']}>
              {items.map((org) => (
                <tr key={org.id}>
                  <td>
                    <Link to={`/orgs/${org.id}`}>{org.name}</Link>
                  </td>
                  <td>
                    <OrgStatus org={org} />
                  </td>
                  <td>{org.role ?? '—'}</td>
                  <td>{formatTime(org.createdAt)}</td>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
      <Section title="Create an organization">
        <Form
          label="Create an organization"
          error={create.error}
          onSubmit={(values) => create.mutate(values)}
        >
          <TextInput name="name" label="Name" isRequired />
          <TextInput
            name="slug"
            label="Slug"
            description="Optional: 3 to 48 lower-case letters, digits and dashes."
          />
          <Button type="submit" isDisabled={create.isPending}>
            Create organization
          </Button>
        </Form>
      </Section>
    </Page>
  );
}
