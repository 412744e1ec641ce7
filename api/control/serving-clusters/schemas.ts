// Serving clusters (platform operators): the Ray Serve clusters model versions run on.
import Type from 'typebox';
import { maxUpstreamUrlLength } from '../../../core/upstream-url.js';
import { Timestamp, Uuid } from '../../common-schemas.js';

export const clusterNamePattern = '^[a-z0-9][a-z0-9-]{0,62}$';

const ClusterName = Type.String({
  pattern: clusterNamePattern,
  description: 'lower-case letters, digits and dashes; the writer workflow is serve-cluster/<name>',
});
const Url = (description: string) =>
  Type.String({ minLength: 1, maxLength: maxUpstreamUrlLength, description });
const ProxyUrl = Url(
  'the Serve proxy as the gateway reaches it; a version answers at this URL + its route prefix',
);
const DashboardUrl = Url('the Ray dashboard, where the Serve REST API answers');

export const ClusterParams = Type.Object({ clusterId: Uuid }, { additionalProperties: false });

export const CreateClusterBody = Type.Object(
  { name: ClusterName, proxyUrl: ProxyUrl, dashboardUrl: DashboardUrl },
  { additionalProperties: false },
);

export const UpdateClusterBody = Type.Object(
  { proxyUrl: Type.Optional(ProxyUrl), dashboardUrl: Type.Optional(DashboardUrl) },
  { additionalProperties: false, minProperties: 1 },
);

export const Cluster = Type.Object({
  id: Uuid,
  name: Type.String(),
  proxyUrl: Type.String(),
  dashboardUrl: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const ClusterList = Type.Object({ items: Type.Array(Cluster) });
