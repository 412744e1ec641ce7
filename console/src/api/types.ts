// The shapes of the API answers the console reads (the OpenAPI document at /openapi.json is the
// reference; these name only the fields the console uses).

export interface Me {
  id: string;
  email: string;
  displayName: string;
  platformRole: 'operator' | null;
}

export type Role = 'owner' | 'admin' | 'member' | 'billing' | 'viewer';

export interface Org {
  id: string;
  name: string;
  slug: string;
  status: 'onboarding' | 'active' | 'failed' | 'erased';
  failureReason: string | null;
  role: Role | null;
  createdAt: string;
}

export interface List<T> {
  items: T[];
  nextCursor?: string | null;
}
