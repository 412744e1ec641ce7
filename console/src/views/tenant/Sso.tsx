import { useParams } from 'react-router';
import { useApiMutation, useApiQuery } from '../../api/client';
import { Button, Choice, Form, optionalText, TextInput } from '../../ui/forms';
import { EmptyState, ErrorNotice, Success } from '../../ui/notices';
import { Page, Section } from '../../ui/page';

interface SsoConnection {
  issuer: string;
  clientId: string;
  allowedDomains: string[];
  roleMapping: { claim: string; values: Record<string, string>; default: string };
  audience: string | null;
  redirectUri: string;
}

const mappableRoles = [
  { id: 'member', label: 'Member' },
  { id: 'admin', label: 'Admin' },
  { id: 'billing', label: 'Billing' },
  { id: 'viewer', label: 'Viewer' },
] as const;

/** "engineering=admin, finance=billing" → { engineering: 'admin', finance: 'billing' } */
function parseMapping(text: string | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const pair of text?.split(',') ?? []) {
    const [value, role] = pair.split('=').map((s) => s.trim());
    if (value && role) values[value] = role;
  }
  return values;
}

export function Sso() {
  const { orgId = '' } = useParams();
  const path = `/api/orgs/${orgId}/sso`;
  const connection = useApiQuery<SsoConnection>(path, { retry: false });
  const save = useApiMutation<SsoConnection, FormData>(
    (values) => ({
      method: 'PUT',
      path,
      body: {
        issuer: values.get('issuer'),
        clientId: values.get('clientId'),
        clientSecret: optionalText(values, 'clientSecret'),
        allowedDomains: (optionalText(values, 'allowedDomains') ?? '').split(/[\s,]+/).filter(Boolean),
        roleMapping: {
          claim: optionalText(values, 'claim') ?? 'groups',
          values: parseMapping(optionalText(values, 'mapping')),
          default: values.get('defaultRole'),
        },
        audience: optionalText(values, 'audience'),
      },
    }),
    [path],
  );
  const remove = useApiMutation<unknown, void>(() => ({ method: 'DELETE', path }), [path]);
  const current = connection.data;
  const missing = connection.error?.status === 404;
  return (
    <Page
      title="Single sign-on"
      intro="Members of your email domains sign in through your organization's OpenID Connect provider."
    >
      {connection.error && !missing ? <ErrorNotice error={connection.error} /> : null}
      {missing ? <EmptyState title="No SSO connection yet." /> : null}
      {current ? (
        <dl className="facts">
          <dt>Issuer</dt>
          <dd>{current.issuer}</dd>
          <dt>Domains</dt>
          <dd>{current.allowedDomains.join(', ')}</dd>
          <dt>Redirect URI to register</dt>
          <dd>
            <code>{current.redirectUri}</code>
          </dd>
        </dl>
      ) : null}
      {save.isSuccess ? (
        <Success>
          <p>The connection is saved.</p>
        </Success>
      ) : null}
      <Section title={current ? 'Change the connection' : 'Connect a provider'}>
        <Form label="SSO connection" error={save.error} onSubmit={(values) => save.mutate(values)}>
          <TextInput name="issuer" label="Issuer URL" type="url" defaultValue={current?.issuer} isRequired />
          <TextInput name="clientId" label="Client id" defaultValue={current?.clientId} isRequired />
          <TextInput
            name="clientSecret"
            label="Client secret"
            type="password"
            description={current ? 'Leave empty to keep the stored secret.' : 'Never shown again.'}
          />
          <TextInput
            name="allowedDomains"
            label="Email domains"
            defaultValue={current?.allowedDomains.join(', ')}
            isRequired
          />
          <TextInput name="claim" label="Role claim" defaultValue={current?.roleMapping.claim ?? 'groups'} />
          <TextInput
            name="mapping"
            label="Claim values to roles"
            description="For example: engineering=admin, finance=billing"
            defaultValue={Object.entries(current?.roleMapping.values ?? {})
              .map(([v, r]) => `${v}=${r}`)
              .join(', ')}
          />
          <Choice name="defaultRole" label="Default role" options={mappableRoles} defaultValue="member" />
          <TextInput
            name="audience"
            label="Access-token audience"
            defaultValue={current?.audience ?? undefined}
          />
          <Button type="submit" isDisabled={save.isPending}>
            Save connection
          </Button>
        </Form>
        {current ? (
          <Button variant="danger" onPress={() => remove.mutate()}>
            Remove the connection
          </Button>
        ) : null}
        {remove.error ? <ErrorNotice error={remove.error} /> : null}
      </Section>
    </Page>
  );
}
