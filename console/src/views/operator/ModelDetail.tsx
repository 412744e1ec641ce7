import { Table } from '../../ui/table';
import { useParams } from 'react-router';
import { useApiMutation, useApiQuery } from '../../api/client';
import { Button, Form, optionalInteger, optionalText, TextInput } from '../../ui/forms';
import { GrafanaLink } from '../../ui/links';
import { EmptyState, ErrorNotice, Loaded } from '../../ui/notices';
import { Page, Section } from '../../ui/page';
import type { Deployment, Model } from './model-types';
import { Rollout } from './Rollout';

/** Versions with a rollout to watch: every stage past `registered`. */
const rolledOut = new Set<Deployment['stage']>(['deploying', 'canary', 'serving', 'draining', 'failed']);

export function ModelDetail() {
  const { modelId = '' } = useParams();
  const path = `/api/admin/models/${modelId}`;
  const model = useApiQuery<Model>(path, { refetchInterval: 5_000 });
  const addDeployment = useApiMutation<unknown, FormData>(
    (values) => ({
      method: 'POST',
      path: `${path}/deployments`,
      body: {
        version: values.get('version'),
        upstreamModel: values.get('upstreamModel'),
        urls: (optionalText(values, 'urls') ?? '').split(/\s+/).filter(Boolean),
        weight: Number(values.get('weight')),
      },
    }),
    [path],
  );
  const register = useApiMutation<unknown, FormData>(
    (values) => {
      const args = optionalText(values, 'args');
      return {
        method: 'POST',
        path: `${path}/versions`,
        body: {
          version: values.get('version'),
          upstreamModel: values.get('upstreamModel'),
          cluster: values.get('cluster'),
          application: {
            name: values.get('application'),
            route_prefix: values.get('routePrefix'),
            import_path: values.get('importPath'),
            ...(args ? { args: JSON.parse(args) as Record<string, unknown> } : {}),
          },
          gpuType: optionalText(values, 'gpuType'),
          gpuCount: optionalInteger(values, 'gpuCount'),
          replicas: optionalInteger(values, 'replicas'),
        },
      };
    },
    [path],
  );
  const start = useApiMutation<{ workflowId: string }, string>(
    (version) => ({ method: 'POST', path: `${path}/rollouts`, body: { version } }),
    [path],
  );
  return (
    <Loaded query={model} what="the model">
      {(m) => (
        <Page title={m.name} intro={`Context ${m.contextLength} tokens; ${m.status}.`}>
          <p>
            <GrafanaLink path={`/d/vlinders-gateway?var-model=${encodeURIComponent(m.name)}`}>
              This model's traffic in Grafana
            </GrafanaLink>
          </p>
          {start.error ? <ErrorNotice error={start.error} /> : null}
          <Section title="Deployments and versions">
            {m.deployments.length === 0 ? (
              <EmptyState title="No deployments yet.">
                <p>
                  Add a deployment with fixed URLs, or register a version on a serving cluster and roll it
                  out.
                </p>
              </EmptyState>
            ) : (
              <Table columns={['Version', 'Stage', 'State', 'Weight', 'Where', '']}>
                {m.deployments.map((d) => (
                  <tr key={d.id}>
                    <td>{d.version}</td>
                    <td>
                      {d.stage}
                      {d.failureReason ? ` (${d.failureReason})` : ''}
                    </td>
                    <td>{d.state}</td>
                    <td>{d.weight}</td>
                    <td>{d.cluster ? `cluster ${d.cluster}` : d.urls.join(', ')}</td>
                    <td>
                      {d.cluster && (d.stage === 'registered' || d.stage === 'failed') ? (
                        <Button onPress={() => start.mutate(d.version)} aria-label={`Roll out ${d.version}`}>
                          Roll out
                        </Button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </Table>
            )}
          </Section>
          {m.deployments
            .filter((d) => d.cluster && rolledOut.has(d.stage))
            .map((d) => (
              <Rollout key={d.id} modelId={m.id} modelName={m.name} version={d.version} />
            ))}
          <Section title="Register a version on a serving cluster">
            <Form
              label="Register a version"
              error={register.error}
              onSubmit={(values) => register.mutate(values)}
            >
              <TextInput name="version" label="Version" isRequired />
              <TextInput
                name="upstreamModel"
                label="Upstream model"
                description="The name vLLM serves."
                isRequired
              />
              <TextInput name="cluster" label="Serving cluster" isRequired />
              <TextInput name="application" label="Serve application name" isRequired />
              <TextInput
                name="routePrefix"
                label="Route prefix"
                description="For example /tiny-chat-v2"
                isRequired
              />
              <TextInput
                name="importPath"
                label="Import path"
                defaultValue="ray.serve.llm:build_openai_app"
                isRequired
              />
              <TextInput
                name="args"
                label="Application args (JSON)"
                description="Optional, as in deploy/ray/*.yaml."
              />
              <TextInput name="gpuType" label="GPU type" />
              <TextInput name="gpuCount" label="GPUs per replica" type="number" />
              <TextInput name="replicas" label="Replicas" type="number" />
              <Button type="submit" isDisabled={register.isPending}>
                Register version
              </Button>
            </Form>
          </Section>
          <Section title="Add a deployment with fixed URLs">
            <Form
              label="Add a deployment"
              error={addDeployment.error}
              onSubmit={(values) => addDeployment.mutate(values)}
            >
              <TextInput name="version" label="Version" isRequired />
              <TextInput name="upstreamModel" label="Upstream model" isRequired />
              <TextInput
                name="urls"
                label="Replica URLs"
                description="Base URLs without /v1, separated by spaces."
                isRequired
              />
              <TextInput name="weight" label="Weight" type="number" defaultValue="100" isRequired />
              <Button type="submit" isDisabled={addDeployment.isPending}>
                Add deployment
              </Button>
            </Form>
          </Section>
        </Page>
      )}
    </Loaded>
  );
}
