// Every column that holds a value wrapped by the master key (runtime/envelope.ts), for the
// re-encryption after a master-key rotation (npm run secrets:rewrap). A new wrapped column is one
// line here: its table, its primary key, the column, and the column whose value (after
// `contextPrefix`, when the writer binds a purpose too) was the `context` given to wrap(). An empty string in a wrapped column means erased (a shredded tenant key, a
// retired signing key) and is skipped.
export interface WrappedColumn {
  table: string;
  primaryKey: string;
  column: string;
  context: string;
  contextPrefix?: string;
}

export const wrappedColumns: readonly WrappedColumn[] = [
  { table: 'tenant_data_keys', primaryKey: 'org_id', column: 'wrapped_key', context: 'org_id' },
  { table: 'signing_keys', primaryKey: 'kid', column: 'wrapped_private_jwk', context: 'kid' },
  { table: 'platform_secrets', primaryKey: 'name', column: 'wrapped_value', context: 'name' },
  { table: 'oauth_clients', primaryKey: 'client_id', column: 'wrapped_secret', context: 'client_id' },
  {
    table: 'sso_connections',
    primaryKey: 'id',
    column: 'client_secret_wrapped',
    context: 'org_id',
    contextPrefix: 'sso-client-secret:',
  },
  {
    table: 'sso_logins',
    primaryKey: 'id',
    column: 'code_verifier_wrapped',
    context: 'state_hash',
    contextPrefix: 'sso-login:',
  },
  {
    table: 'deployment_credentials',
    primaryKey: 'id',
    column: 'wrapped_key',
    context: 'deployment_id',
    contextPrefix: 'deployment-upstream-key:',
  },
];
