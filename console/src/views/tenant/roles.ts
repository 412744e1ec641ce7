import type { Role } from '../../api/types';

export const roleOptions: readonly { id: Role; label: string }[] = [
  { id: 'member', label: 'Member' },
  { id: 'admin', label: 'Admin' },
  { id: 'billing', label: 'Billing' },
  { id: 'viewer', label: 'Viewer' },
  { id: 'owner', label: 'Owner' },
];
