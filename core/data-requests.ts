// GDPR data-subject requests: what an export gathers, by when, and how long its archive lives.
// Pure rules, shared by the workflow (workflows/gdpr-export.ts) and its activities.

/** The law's deadline: a request is answered within a month (GDPR Art. 12(3)); 30 days here. */
export const exportDeadlineDays = 30;
/** How long the archive can be downloaded before the workflow deletes it. */
export const archiveLifetimeDays = 7;

const day = 24 * 60 * 60 * 1000;

export type DataRequestScope = 'person' | 'organization';

/**
 * The stores an export reads, each written as a part of the archive. A person's export leaves out
 * the organization's billing and files, which are the organization's, not the person's.
 */
export const exportStores = {
  person: ['account', 'api-keys', 'audit', 'usage'],
  organization: ['account', 'api-keys', 'audit', 'usage', 'billing', 'files'],
} as const satisfies Record<DataRequestScope, readonly string[]>;

export type ExportStore = (typeof exportStores)['organization'][number];

export function exportDueAt(requestedAt: Date): Date {
  return new Date(requestedAt.getTime() + exportDeadlineDays * day);
}

export function archiveExpiresAt(finishedAt: Date): Date {
  return new Date(finishedAt.getTime() + archiveLifetimeDays * day);
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
