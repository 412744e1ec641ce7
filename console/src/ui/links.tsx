// Links out of the console: a workflow's page in the Temporal UI, a dashboard in Grafana.
import { useSession } from '../auth/session';

export function WorkflowLink({ workflowId, children }: { workflowId: string; children?: string }) {
  const { config } = useSession();
  if (!config.temporalUiUrl) return null;
  const url = `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return (
    <a href={url} target="_blank" rel="noreferrer">
      {children ?? `${workflowId} in the Temporal UI`}
    </a>
  );
}

export function GrafanaLink({ path, children }: { path: string; children: string }) {
  const { config } = useSession();
  if (!config.grafanaUrl) return null;
  return (
    <a href={`${config.grafanaUrl}${path}`} target="_blank" rel="noreferrer">
      {children}
    </a>
  );
}
