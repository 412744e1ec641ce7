import { useApiQuery } from '../../api/client';
import { WorkflowLink } from '../../ui/links';
import { EmptyState, Loaded } from '../../ui/notices';
import { Page } from '../../ui/page';

export interface CapacityPool {
  pool: string;
  running: boolean;
  state: Record<string, unknown> | null;
}

export function Capacity() {
  const pools = useApiQuery<{ items: CapacityPool[] }>('/api/admin/capacity', { refetchInterval: 10_000 });
  return (
    <Page
      title="GPU capacity"
      intro="Each pool's control loop (capacity/<pool>): demand, replicas and its recommendation."
    >
      <Loaded query={pools} what="the GPU pools">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No GPU pools yet." />
          ) : (
            <ul className="cards">
              {items.map((p) => (
                <li key={p.pool} className="card">
                  <h3>{p.pool}</h3>
                  <p>{p.running ? 'The control loop runs.' : 'The control loop is not running.'}</p>
                  <pre>{JSON.stringify(p.state, null, 2)}</pre>
                  <WorkflowLink workflowId={`capacity/${p.pool}`} />
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </Page>
  );
}
