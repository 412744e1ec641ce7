import { Table } from '../../ui/table';
import { useState } from 'react';
import { useParams } from 'react-router';
import { useApiMutation, useApiQuery } from '../../api/client';
import type { List } from '../../api/types';
import { Button, Checkboxes, Form, optionalInteger, optionalText, TextInput } from '../../ui/forms';
import { EmptyState, ErrorNotice, Loaded, ShownOnce } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  expiresAt: string | null;
  allowedModels: string[] | null;
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  lastUsedAt: string | null;
  previousValidUntil: string | null;
  revokedAt: string | null;
  createdAt: string;
}

const scopes = ['inference', 'models:read', 'usage:read', 'admin'] as const;

function list(values: FormData, name: string): string[] | undefined {
  const text = optionalText(values, name);
  return text
    ?.split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function ApiKeys() {
  const { orgId = '' } = useParams();
  const base = `/api/orgs/${orgId}/api-keys`;
  const keys = useApiQuery<List<ApiKey>>(base);
  // The whole key is in the create or rotate answer only: shown once, never stored by the console.
  const [secret, setSecret] = useState<{ name: string; key: string } | null>(null);
  const create = useApiMutation<ApiKey & { key: string }, FormData>(
    (values) => {
      const expires = optionalText(values, 'expiresAt');
      return {
        method: 'POST',
        path: base,
        body: {
          name: values.get('name'),
          scopes: values.getAll('scopes'),
          expiresAt: expires ? new Date(expires).toISOString() : undefined,
          allowedModels: list(values, 'allowedModels'),
          allowedIps: list(values, 'allowedIps'),
          requestsPerMinute: optionalInteger(values, 'requestsPerMinute'),
          tokensPerMinute: optionalInteger(values, 'tokensPerMinute'),
        },
      };
    },
    [base],
  );
  const rotate = useApiMutation<ApiKey & { key: string }, string>(
    (id) => ({ method: 'POST', path: `${base}/${id}/rotate` }),
    [base],
  );
  const revoke = useApiMutation<unknown, string>(
    (id) => ({ method: 'DELETE', path: `${base}/${id}` }),
    [base],
  );
  const actionError = rotate.error ?? revoke.error;
  return (
    <Page
      title="API keys"
      intro="Keys call the OpenAI-compatible API under /v1. A key is shown once, when it is made."
    >
      {secret ? (
        <ShownOnce
          what={
            <>
              The key <strong>{secret.name}</strong>
            </>
          }
          secret={secret.key}
          onDone={() => setSecret(null)}
        />
      ) : null}
      {actionError ? <ErrorNotice error={actionError} /> : null}
      <Loaded query={keys} what="the API keys">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No API keys yet.">
              <p>Create one below to call /v1.</p>
            </EmptyState>
          ) : (
            <Table
              columns={['Name', 'Prefix', 'Scopes', 'Limits (req/min, tokens/min)', 'Last used', 'State', '']}
            >
              {items.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}</code>
                  </td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>
                    {k.requestsPerMinute ?? 'plan'}, {k.tokensPerMinute ?? 'plan'}
                  </td>
                  <td>{formatTime(k.lastUsedAt)}</td>
                  <td>
                    {k.revokedAt
                      ? `Revoked ${formatTime(k.revokedAt)}`
                      : k.expiresAt
                        ? `Expires ${formatTime(k.expiresAt)}`
                        : 'Active'}
                  </td>
                  <td className="row-actions">
                    {k.revokedAt ? null : (
                      <>
                        <Button
                          variant="secondary"
                          aria-label={`Rotate ${k.name}`}
                          onPress={() =>
                            rotate.mutate(k.id, {
                              onSuccess: (r) => setSecret({ name: r.name, key: r.key }),
                            })
                          }
                        >
                          Rotate
                        </Button>
                        <Button
                          variant="danger"
                          aria-label={`Revoke ${k.name}`}
                          onPress={() => revoke.mutate(k.id)}
                        >
                          Revoke
                        </Button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
      <Section title="Create an API key">
        <Form
          label="Create an API key"
          error={create.error}
          onSubmit={(values) =>
            create.mutate(values, { onSuccess: (k) => setSecret({ name: k.name, key: k.key }) })
          }
        >
          <TextInput name="name" label="Name" isRequired />
          <Checkboxes name="scopes" label="Scopes" options={scopes} defaultValue={['inference']} />
          <TextInput
            name="allowedModels"
            label="Allowed models"
            description="Optional: model names, separated by commas."
          />
          <TextInput
            name="allowedIps"
            label="Allowed addresses"
            description="Optional: IP addresses or CIDR ranges, separated by commas."
          />
          <TextInput
            name="requestsPerMinute"
            label="Requests per minute"
            type="number"
            description="Optional: at most the plan's."
          />
          <TextInput
            name="tokensPerMinute"
            label="Tokens per minute"
            type="number"
            description="Optional: at most the plan's."
          />
          <TextInput name="expiresAt" label="Expires" type="datetime-local" description="Optional." />
          <Button type="submit" isDisabled={create.isPending}>
            Create key
          </Button>
        </Form>
      </Section>
    </Page>
  );
}
