import { Table } from '../../ui/table';
import { useState } from 'react';
import { useParams } from 'react-router';
import { useApiMutation, useApiQuery } from '../../api/client';
import type { List, Role } from '../../api/types';
import { Button, Choice, Form, TextInput } from '../../ui/forms';
import { EmptyState, ErrorNotice, Loaded, Success } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';
import { roleOptions } from './roles';
import { Teams } from './Teams';

interface Member {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  joinedAt: string;
}

interface Invitation {
  id: string;
  email: string;
  role: Role;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expiresAt: string;
}

export function Members() {
  const { orgId = '' } = useParams();
  const base = `/api/orgs/${orgId}`;
  const members = useApiQuery<List<Member>>(`${base}/members`);
  const invitations = useApiQuery<List<Invitation>>(`${base}/invitations`);
  const [invited, setInvited] = useState<string | null>(null);
  const invite = useApiMutation<Invitation, FormData>(
    (values) => ({
      method: 'POST',
      path: `${base}/invitations`,
      body: { email: values.get('email'), role: values.get('role') },
    }),
    [`${base}/invitations`],
  );
  const revoke = useApiMutation<unknown, string>(
    (id) => ({ method: 'DELETE', path: `${base}/invitations/${id}` }),
    [`${base}/invitations`],
  );
  const changeRole = useApiMutation<unknown, { userId: string; role: string }>(
    ({ userId, role }) => ({ method: 'PATCH', path: `${base}/members/${userId}`, body: { role } }),
    [`${base}/members`],
  );
  const remove = useApiMutation<unknown, string>(
    (userId) => ({ method: 'DELETE', path: `${base}/members/${userId}` }),
    [`${base}/members`],
  );
  const actionError = changeRole.error ?? remove.error ?? revoke.error;
  return (
    <Page title="Members and teams">
      {actionError ? <ErrorNotice error={actionError} /> : null}
      <Section title="Members">
        <Loaded query={members} what="the members">
          {({ items }) => (
            <Table columns={['Name', 'Email', 'Role', 'Joined', '']}>
              {items.map((m) => (
                <tr key={m.userId}>
                  <td>{m.displayName}</td>
                  <td>{m.email}</td>
                  <td>
                    <label className="inline-select">
                      <span className="sr-only">Role of {m.email}</span>
                      <select
                        value={m.role}
                        onChange={(e) => changeRole.mutate({ userId: m.userId, role: e.target.value })}
                      >
                        {roleOptions.map((r) => (
                          <option key={r.id} value={r.id}>
                            {r.label}
                          </option>
                        ))}
                      </select>
                    </label>
                  </td>
                  <td>{formatTime(m.joinedAt)}</td>
                  <td>
                    <Button
                      variant="danger"
                      onPress={() => remove.mutate(m.userId)}
                      aria-label={`Remove ${m.email}`}
                    >
                      Remove
                    </Button>
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Loaded>
      </Section>
      <Section title="Invitations">
        <Form
          label="Invite a member"
          error={invite.error}
          onSubmit={(values) => {
            setInvited(null);
            invite.mutate(values, { onSuccess: (i) => setInvited(i.email) });
          }}
        >
          <TextInput name="email" label="Email" type="email" isRequired />
          <Choice name="role" label="Role" options={roleOptions} defaultValue="member" />
          <Button type="submit" isDisabled={invite.isPending}>
            Send invitation
          </Button>
        </Form>
        {invited ? (
          <Success>
            <p>An invitation was mailed to {invited}. It works once, until it expires.</p>
          </Success>
        ) : null}
        <Loaded query={invitations} what="the invitations">
          {({ items }) =>
            items.length === 0 ? (
              <EmptyState title="No invitations yet." />
            ) : (
              <Table columns={['Email', 'Role', 'Status', 'Expires', '']}>
                {items.map((i) => (
                  <tr key={i.id}>
                    <td>{i.email}</td>
                    <td>{i.role}</td>
                    <td>{i.status}</td>
                    <td>{formatTime(i.expiresAt)}</td>
                    <td>
                      {i.status === 'pending' ? (
                        <Button
                          variant="danger"
                          onPress={() => revoke.mutate(i.id)}
                          aria-label={`Revoke the invitation of ${i.email}`}
                        >
                          Revoke
                        </Button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Loaded>
      </Section>
      <Teams orgId={orgId} />
    </Page>
  );
}
