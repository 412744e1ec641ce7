import { Table } from '../../ui/table';
import { useState } from 'react';
import { useParams } from 'react-router';
import { useApiMutation, useApiQuery } from '../../api/client';
import type { List } from '../../api/types';
import { Button, Checkboxes, Form, optionalText, TextInput } from '../../ui/forms';
import { EmptyState, ErrorNotice, Loaded, ShownOnce } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';

interface OAuthClient {
  clientId: string;
  name: string;
  grantTypes: string[];
  redirectUris: string[];
  scopes: string[];
  revokedAt: string | null;
  createdAt: string;
}

export function OAuthClients() {
  const { orgId = '' } = useParams();
  const base = `/api/orgs/${orgId}/oauth-clients`;
  const clients = useApiQuery<List<OAuthClient>>(base);
  const [secret, setSecret] = useState<{ clientId: string; clientSecret: string } | null>(null);
  const create = useApiMutation<OAuthClient & { clientSecret: string }, FormData>(
    (values) => {
      const redirectUris = optionalText(values, 'redirectUris')?.split(/\s+/) ?? [];
      const grantTypes = values.getAll('grantTypes');
      return {
        method: 'POST',
        path: base,
        body: {
          name: values.get('name'),
          grantTypes,
          scopes: values.getAll('scopes'),
          ...(grantTypes.includes('authorization_code') ? { redirectUris } : {}),
        },
      };
    },
    [base],
  );
  const revoke = useApiMutation<unknown, string>(
    (id) => ({ method: 'DELETE', path: `${base}/${id}` }),
    [base],
  );
  return (
    <Page
      title="OAuth clients"
      intro="Applications that sign your members in, or machines that call the API with client credentials."
    >
      {secret ? (
        <ShownOnce
          what={
            <>
              The secret of <code>{secret.clientId}</code>
            </>
          }
          secret={secret.clientSecret}
          onDone={() => setSecret(null)}
        />
      ) : null}
      {revoke.error ? <ErrorNotice error={revoke.error} /> : null}
      <Loaded query={clients} what="the OAuth clients">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No OAuth clients yet." />
          ) : (
            <Table columns={['Name', 'Client id', 'Grants', 'Scopes', 'Created', '']}>
              {items.map((c) => (
                <tr key={c.clientId}>
                  <td>{c.name}</td>
                  <td>
                    <code>{c.clientId}</code>
                  </td>
                  <td>{c.grantTypes.join(', ')}</td>
                  <td>{c.scopes.join(', ')}</td>
                  <td>{formatTime(c.createdAt)}</td>
                  <td>
                    {c.revokedAt ? (
                      `Revoked ${formatTime(c.revokedAt)}`
                    ) : (
                      <Button
                        variant="danger"
                        aria-label={`Revoke ${c.name}`}
                        onPress={() => revoke.mutate(c.clientId)}
                      >
                        Revoke
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
      <Section title="Register a client">
        <Form
          label="Register an OAuth client"
          error={create.error}
          onSubmit={(values) =>
            create.mutate(values, {
              onSuccess: (c) => setSecret({ clientId: c.clientId, clientSecret: c.clientSecret }),
            })
          }
        >
          <TextInput name="name" label="Name" isRequired />
          <Checkboxes
            name="grantTypes"
            label="Grant types"
            options={['authorization_code', 'client_credentials']}
            defaultValue={['authorization_code']}
          />
          <TextInput
            name="redirectUris"
            label="Redirect URIs"
            description="For the code flow: https URLs, or http on a loopback address; separated by spaces."
          />
          <Checkboxes
            name="scopes"
            label="Scopes"
            options={['inference', 'models:read', 'usage:read', 'admin']}
            defaultValue={['inference']}
          />
          <Button type="submit" isDisabled={create.isPending}>
            Register client
          </Button>
        </Form>
      </Section>
    </Page>
  );
}
