import { saveFile } from '../../ui/download';
import { Table } from '../../ui/table';
import { useState } from 'react';
import { useParams } from 'react-router';
import { useApiMutation, useApiQuery, useSend } from '../../api/client';
import type { List } from '../../api/types';
import { Button, Choice, Form } from '../../ui/forms';
import { EmptyState, ErrorNotice, Loaded } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';

interface DataRequest {
  id: string;
  kind: 'export' | 'erasure';
  scope: 'person' | 'organization';
  status: 'pending' | 'running' | 'completed' | 'expired' | 'failed' | 'cancelled' | 'blocked';
  requestedAt: string;
  dueAt: string;
  finishedAt: string | null;
  archiveExpiresAt: string | null;
  blockedReason: string | null;
  files: { name: string; bytes: number; sha256: string }[];
}

const unfinished = new Set(['pending', 'running']);

export function DataRequests() {
  const { orgId = '' } = useParams();
  const base = `/api/orgs/${orgId}/data-requests`;
  const send = useSend();
  const [downloadError, setDownloadError] = useState<Error | null>(null);
  // A request is a workflow (export or erasure): the list is read again while one is unfinished.
  const requests = useApiQuery<List<DataRequest>>(base, {
    refetchInterval: (query) =>
      query.state.data?.items.some((r) => unfinished.has(r.status)) ? 2_000 : false,
  });
  const create = useApiMutation<DataRequest, FormData>(
    (values) => ({
      method: 'POST',
      path: base,
      body: { kind: values.get('kind'), scope: values.get('scope') },
    }),
    [base],
  );
  const cancel = useApiMutation<unknown, string>(
    (id) => ({ method: 'POST', path: `${base}/${id}/cancel` }),
    [base],
  );

  const download = async (request: DataRequest, file: string) => {
    setDownloadError(null);
    try {
      const body = await send<unknown>('GET', `${base}/${request.id}/archive/${encodeURIComponent(file)}`);
      saveFile(file, typeof body === 'string' ? body : JSON.stringify(body));
    } catch (err) {
      setDownloadError(err instanceof Error ? err : new Error('The download failed.'));
    }
  };

  return (
    <Page
      title="Data requests"
      intro="Export your data, or have it erased (GDPR). An erasure waits out a grace period in which it can be cancelled."
    >
      <Form
        label="Request a data export or erasure"
        error={create.error}
        onSubmit={(values) => create.mutate(values)}
      >
        <Choice
          name="kind"
          label="Request"
          options={[
            { id: 'export', label: 'Export' },
            { id: 'erasure', label: 'Erasure' },
          ]}
        />
        <Choice
          name="scope"
          label="Whose data"
          options={[
            { id: 'person', label: 'Mine' },
            { id: 'organization', label: 'The whole organization (owners)' },
          ]}
        />
        <Button type="submit" isDisabled={create.isPending}>
          Send request
        </Button>
      </Form>
      {cancel.error ? <ErrorNotice error={cancel.error} /> : null}
      {downloadError ? <ErrorNotice error={downloadError} /> : null}
      <Section title="Requests">
        <Loaded query={requests} what="the data requests">
          {({ items }) =>
            items.length === 0 ? (
              <EmptyState title="No data requests yet." />
            ) : (
              <Table columns={['Request', 'Status', 'Requested', 'Due', 'Result']}>
                {items.map((r) => (
                  <tr key={r.id}>
                    <td>
                      {r.kind} of {r.scope === 'person' ? 'my data' : 'the organization'}
                    </td>
                    <td>
                      <span className={`badge ${r.status}`} data-testid="data-request-status">
                        {r.status}
                      </span>
                      {r.blockedReason ? ` (${r.blockedReason})` : ''}
                    </td>
                    <td>{formatTime(r.requestedAt)}</td>
                    <td>{formatTime(r.dueAt)}</td>
                    <td>
                      {r.files.length > 0 ? (
                        <ul className="plain">
                          {r.files.map((f) => (
                            <li key={f.name}>
                              <Button
                                variant="secondary"
                                onPress={() => void download(r, f.name)}
                                aria-label={`Download ${f.name}`}
                              >
                                {f.name}
                              </Button>{' '}
                              <span className="muted">{f.bytes} bytes</span>
                            </li>
                          ))}
                          <li className="muted">Available until {formatTime(r.archiveExpiresAt)}</li>
                        </ul>
                      ) : null}
                      {r.kind === 'erasure' && unfinished.has(r.status) ? (
                        <Button variant="danger" onPress={() => cancel.mutate(r.id)}>
                          Cancel erasure
                        </Button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Loaded>
      </Section>
    </Page>
  );
}
