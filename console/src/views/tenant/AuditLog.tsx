import { Pager, Table } from '../../ui/table';
import { useState } from 'react';
import { useParams } from 'react-router';
import { useApiQuery } from '../../api/client';
import { Button } from '../../ui/forms';
import { EmptyState, Loaded } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';

interface AuditEntry {
  id: number;
  action: string;
  actorId: string | null;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  createdAt: string;
}

interface ChainReport {
  ok: boolean;
  checked: number;
  firstBrokenId?: number;
  reason?: string;
}

export function AuditLog() {
  const { orgId = '' } = useParams();
  const [before, setBefore] = useState<number[]>([]);
  const cursor = before.at(-1);
  const page = useApiQuery<{ items: AuditEntry[]; nextCursor: number | null }>(
    `/api/orgs/${orgId}/audit-log?limit=50${cursor ? `&before=${cursor}` : ''}`,
  );
  const [verifying, setVerifying] = useState(false);
  const chain = useApiQuery<ChainReport>(verifying ? `/api/orgs/${orgId}/audit-log/verify` : null);
  return (
    <Page
      title="Audit log"
      intro="Every change to the organization, newest first. Each entry is chained to the one before by a hash."
    >
      <Section title="Chain verification">
        <Button variant="secondary" onPress={() => (verifying ? void chain.refetch() : setVerifying(true))}>
          Verify the chain
        </Button>
        {chain.data ? (
          <p role="status" className={`notice ${chain.data.ok ? 'success' : 'error'}`}>
            {chain.data.ok
              ? `The chain holds: ${chain.data.checked} entries checked.`
              : `The chain is broken at entry ${chain.data.firstBrokenId}: ${chain.data.reason}.`}
          </p>
        ) : null}
      </Section>
      <Loaded query={page} what="the audit log">
        {({ items, nextCursor }) =>
          items.length === 0 ? (
            <EmptyState title="Nothing recorded yet." />
          ) : (
            <>
              <Table columns={['When', 'Action', 'Actor', 'Target', 'Address']}>
                {items.map((e) => (
                  <tr key={e.id}>
                    <td>{formatTime(e.createdAt)}</td>
                    <td>{e.action}</td>
                    <td>
                      <code>{e.actorId ?? 'system'}</code>
                    </td>
                    <td>
                      {e.targetType} <code>{e.targetId ?? ''}</code>
                    </td>
                    <td>{e.ip ?? '—'}</td>
                  </tr>
                ))}
              </Table>
              <Pager cursors={before} onChange={setBefore} next={nextCursor} />
            </>
          )
        }
      </Loaded>
    </Page>
  );
}
