// GDPR data-subject requests: what an export gathers and an erasure erases, by when, how long an
// export's archive lives and an erasure waits to be cancelled. Pure rules, shared by the workflows
// (workflows/gdpr-export.ts, workflows/gdpr-erasure.ts), their activities and the API.

/** The law's deadline: a request is answered within a month (GDPR Art. 12(3)); 30 days here. */
export const requestDeadlineDays = 30;
/** How long the archive can be downloaded before the workflow deletes it. */
export const archiveLifetimeDays = 7;

const day = 24 * 60 * 60 * 1000;

export type DataRequestScope = 'person' | 'organization';
export type DataRequestKind = 'export' | 'erasure';

/** How long an erasure waits, cancellable, before anything is erased. */
export const erasureGraceDays = 7;

/**
 * The stores an export reads, each written as a part of the archive. A person's export leaves out
 * the organization's billing, files and documents' vectors, which are the organization's, not the
 * person's.
 */
export const exportStores = {
  person: ['account', 'api-keys', 'audit', 'usage'],
  organization: ['account', 'api-keys', 'audit', 'usage', 'billing', 'files', 'vectors'],
} as const satisfies Record<DataRequestScope, readonly string[]>;

export type ExportStore = (typeof exportStores)['organization'][number];

export function requestDueAt(requestedAt: Date): Date {
  return new Date(requestedAt.getTime() + requestDeadlineDays * day);
}

/** When an erasure's grace period ends and the erasure begins. */
export function erasureGraceEndsAt(requestedAt: Date, graceDays = erasureGraceDays): Date {
  return new Date(requestedAt.getTime() + graceDays * day);
}

export function archiveExpiresAt(finishedAt: Date): Date {
  return new Date(finishedAt.getTime() + archiveLifetimeDays * day);
}

/** The link a data-subject request's mail carries: the request, its files listed while they last. */
export function dataRequestLink(publicUrl: string, orgId: string, requestId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/api/orgs/${orgId}/data-requests/${requestId}`;
}

/** The folder of a request's archive under the tenant's objects. */
export function archivePrefix(requestId: string): string {
  return `exports/${requestId}/`;
}

/** One file of the archive, as the manifest lists it. */
export interface ArchiveFile {
  name: string;
  sha256: string;
  bytes: number;
}

export interface ExportManifest {
  requestId: string;
  orgId: string;
  scope: DataRequestScope;
  subjectUserId: string | null;
  createdAt: string;
  /** Every part, with the SHA-256 of its bytes as stored in the archive. */
  files: ArchiveFile[];
}

/**
 * The stores an erasure reaches, in order, after the freeze (keys revoked, tokens revoked, the
 * subscription cancelled). Redis comes before the account (its keys are found through the account's
 * email and keys); the codec key comes last: destroying it makes the tenant's workflow histories
 * unreadable. A person's erasure leaves the organization's usage, billing, files,
 * vectors, workflows and key to the organization.
 */
export const erasureStores = {
  person: ['redis', 'account', 'audit'],
  organization: [
    'redis',
    'account',
    'usage',
    'billing',
    'vectors',
    'files',
    'workflows',
    'audit',
    'codec-key',
  ],
} as const satisfies Record<DataRequestScope, readonly string[]>;

export type ErasureStore = (typeof erasureStores)['organization'][number];

/** What an erasure did to one store, as the tombstone records it: counts, never personal data. */
export interface ErasureOutcome {
  store: ErasureStore;
  action: 'erased' | 'anonymised' | 'kept' | 'none';
  /** How many rows, keys, points, objects or workflows, by kind. */
  counts: Record<string, number>;
  /** Why something was kept (the law that keeps it), or what was not reached. */
  note?: string;
}

/** The subject of an erasure, as hashed into its tombstone: the org, or the person in it. */
export function erasureSubject(scope: DataRequestScope, orgId: string, subjectUserId: string | null): string {
  return scope === 'organization'
    ? `vlinders.erasure.v1:organization:${orgId}`
    : `vlinders.erasure.v1:person:${subjectUserId}`;
}
