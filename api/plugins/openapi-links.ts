// OpenAPI links: from each route that creates something to the routes that take its id, so a client
// generator or a stateful fuzzer (schemathesis) can chain a creation to its use. One table for the
// whole document; openapi.ts attaches it to the generated document.
//
// POST /api/orgs links only to GET /api/orgs/{orgId}: a new org is provisioned by the onboarding
// workflow, and until that has made its creator a member, every other route under the org answers
// 404 (members only). Reading the org is how its creator follows onboarding.

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** An operation as `METHOD /path/{param}`, as the document spells its path. */
type Operation = `${Method} /${string}`;

export interface Link {
  from: Operation;
  /** The success status whose response carries the link. */
  status: 200 | 201 | 202;
  name: string;
  to: Operation;
  /** Each path parameter of `to` and where its value comes from (OpenAPI runtime expressions). */
  parameters: Record<string, string>;
}

const org = '/api/orgs/{orgId}';
const orgId = '$request.path.orgId';
const createdId = '$response.body#/id';

/** Links from one creating operation to several operations on what it created. */
function fanOut(
  from: Operation,
  status: Link['status'],
  targets: [name: string, to: Operation][],
  parameters: Record<string, string>,
): Link[] {
  return targets.map(([name, to]) => ({ from, status, name, to, parameters }));
}

export const links: Link[] = [
  {
    from: 'POST /api/orgs',
    status: 202,
    name: 'GetOrganization',
    to: `GET ${org}`,
    parameters: { orgId: '$response.body#/orgId' },
  },
  ...fanOut(
    `POST ${org}/teams`,
    201,
    [
      ['GetTeam', `GET ${org}/teams/{teamId}`],
      ['UpdateTeam', `PATCH ${org}/teams/{teamId}`],
      ['DeleteTeam', `DELETE ${org}/teams/{teamId}`],
      ['ListTeamMembers', `GET ${org}/teams/{teamId}/members`],
    ],
    { orgId, teamId: createdId },
  ),
  ...fanOut(
    `POST ${org}/invitations`,
    201,
    [['RevokeInvitation', `DELETE ${org}/invitations/{invitationId}`]],
    { orgId, invitationId: createdId },
  ),
  ...fanOut(
    `POST ${org}/api-keys`,
    201,
    [
      ['GetApiKey', `GET ${org}/api-keys/{keyId}`],
      ['RotateApiKey', `POST ${org}/api-keys/{keyId}/rotate`],
      ['RevokeApiKey', `DELETE ${org}/api-keys/{keyId}`],
    ],
    { orgId, keyId: createdId },
  ),
  ...fanOut(
    `POST ${org}/oauth-clients`,
    201,
    [
      ['GetOAuthClient', `GET ${org}/oauth-clients/{clientId}`],
      ['RevokeOAuthClient', `DELETE ${org}/oauth-clients/{clientId}`],
    ],
    { orgId, clientId: '$response.body#/clientId' },
  ),
  ...fanOut(
    `PUT ${org}/sso`,
    201,
    [
      ['GetSsoConnection', `GET ${org}/sso`],
      ['DeleteSsoConnection', `DELETE ${org}/sso`],
    ],
    { orgId },
  ),
  ...fanOut(
    'POST /api/admin/models',
    201,
    [
      ['GetModel', 'GET /api/admin/models/{modelId}'],
      ['UpdateModel', 'PATCH /api/admin/models/{modelId}'],
      ['DeleteModel', 'DELETE /api/admin/models/{modelId}'],
      ['AddDeployment', 'POST /api/admin/models/{modelId}/deployments'],
    ],
    { modelId: createdId },
  ),
  ...fanOut(
    'POST /api/admin/models/{modelId}/deployments',
    201,
    [
      ['UpdateDeployment', 'PATCH /api/admin/models/{modelId}/deployments/{deploymentId}'],
      ['DeleteDeployment', 'DELETE /api/admin/models/{modelId}/deployments/{deploymentId}'],
    ],
    { modelId: '$request.path.modelId', deploymentId: createdId },
  ),
  // A model version is a deployment row: the routes on deployments take its id.
  ...fanOut(
    'POST /api/admin/models/{modelId}/versions',
    201,
    [
      ['UpdateVersion', 'PATCH /api/admin/models/{modelId}/deployments/{deploymentId}'],
      ['DeleteVersion', 'DELETE /api/admin/models/{modelId}/deployments/{deploymentId}'],
      ['SetUpstreamKey', 'PUT /api/admin/models/{modelId}/deployments/{deploymentId}/upstream-key'],
    ],
    { modelId: '$request.path.modelId', deploymentId: createdId },
  ),
  ...fanOut(
    `POST ${org}/data-requests`,
    202,
    [
      ['GetDataRequest', `GET ${org}/data-requests/{requestId}`],
      ['CancelDataRequest', `POST ${org}/data-requests/{requestId}/cancel`],
    ],
    { orgId, requestId: createdId },
  ),
  {
    from: 'POST /api/admin/orgs/{orgId}/legal-holds',
    status: 201,
    name: 'ReleaseLegalHold',
    to: 'POST /api/admin/orgs/{orgId}/legal-holds/{holdId}/release',
    parameters: { orgId, holdId: createdId },
  },
  ...fanOut(
    'POST /api/admin/serving-clusters',
    201,
    [
      ['UpdateServingCluster', 'PATCH /api/admin/serving-clusters/{clusterId}'],
      ['DeleteServingCluster', 'DELETE /api/admin/serving-clusters/{clusterId}'],
    ],
    { clusterId: createdId },
  ),
];

interface Document {
  paths: Record<string, Record<string, { responses?: Record<string, { links?: Record<string, unknown> }> }>>;
}

function split(operation: Operation): { method: string; path: string } {
  const [method = '', path = ''] = operation.split(' ');
  return { method: method.toLowerCase(), path };
}

/** A JSON pointer to an operation of the document (RFC 6901: `~` and `/` escaped). */
export function operationRef(operation: Operation): string {
  const { method, path } = split(operation);
  return `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}`;
}

/**
 * Attaches the links to the document. A link whose source response or target operation is missing
 * is a mistake in this table: it fails loudly rather than leaving a link that leads nowhere.
 */
export function addLinks<D extends { paths?: unknown }>(document: D): D {
  const { paths = {} } = document as Partial<Document>;
  for (const link of links) {
    const from = split(link.from);
    const response = paths[from.path]?.[from.method]?.responses?.[String(link.status)];
    const to = split(link.to);
    if (!response) throw new Error(`OpenAPI link ${link.name}: ${link.from} has no ${link.status} response`);
    if (!paths[to.path]?.[to.method]) throw new Error(`OpenAPI link ${link.name}: no ${link.to}`);
    response.links = {
      ...response.links,
      [link.name]: { operationRef: operationRef(link.to), parameters: link.parameters },
    };
  }
  return document;
}
