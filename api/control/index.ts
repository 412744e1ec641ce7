// The management API, registered by app.ts under /api: organizations (and their onboarding),
// invitations, members, teams, the audit log, the model registry (and deployments' upstream keys),
// serving clusters and rollouts (operators), usage reads, GDPR data requests and legal holds (operators),
// the cost analysis, the tenant directory and the capacity loops (operators).
import type { FastifyInstance } from 'fastify';
import auditLogRoutes from './audit-log/routes.js';
import capacityRoutes from './capacity/routes.js';
import costRoutes from './costs/routes.js';
import dataRequestRoutes from './data-requests/routes.js';
import invitationRoutes from './invitations/routes.js';
import legalHoldRoutes from './legal-holds/routes.js';
import memberRoutes from './members/routes.js';
import modelRoutes from './models/routes.js';
import orgRoutes from './orgs/routes.js';
import rolloutRoutes from './rollouts/routes.js';
import servingClusterRoutes from './serving-clusters/routes.js';
import teamRoutes from './teams/routes.js';
import tenantRoutes from './tenants/routes.js';
import upstreamKeyRoutes from './upstream-keys/routes.js';
import usageRoutes from './usage/routes.js';

export default async function control(app: FastifyInstance) {
  await app.register(orgRoutes);
  await app.register(invitationRoutes);
  await app.register(memberRoutes);
  await app.register(teamRoutes);
  await app.register(auditLogRoutes);
  await app.register(modelRoutes);
  await app.register(servingClusterRoutes);
  await app.register(rolloutRoutes);
  await app.register(upstreamKeyRoutes);
  await app.register(usageRoutes);
  await app.register(dataRequestRoutes);
  await app.register(legalHoldRoutes);
  await app.register(costRoutes);
  await app.register(tenantRoutes);
  await app.register(capacityRoutes);
}
