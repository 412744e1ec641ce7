import { Table } from '../../ui/table';
import { Link } from 'react-router';
import { useApiMutation, useApiQuery } from '../../api/client';
import type { List } from '../../api/types';
import { Button, Form, optionalText, TextInput } from '../../ui/forms';
import { EmptyState, Loaded } from '../../ui/notices';
import { Page, Section } from '../../ui/page';
import type { Model } from './model-types';

interface Cluster {
  id: string;
  name: string;
  proxyUrl: string;
  dashboardUrl: string;
}

export function Models() {
  const models = useApiQuery<List<Model>>('/api/admin/models');
  const clusters = useApiQuery<List<Cluster>>('/api/admin/serving-clusters');
  const create = useApiMutation<Model, FormData>(
    (values) => ({
      method: 'POST',
      path: '/api/admin/models',
      body: {
        name: values.get('name'),
        contextLength: Number(values.get('contextLength')),
        inputPricePerMillion: Number(values.get('inputPricePerMillion')),
        outputPricePerMillion: Number(values.get('outputPricePerMillion')),
        fallbackModel: optionalText(values, 'fallbackModel'),
      },
    }),
    ['/api/admin/models'],
  );
  const addCluster = useApiMutation<Cluster, FormData>(
    (values) => ({
      method: 'POST',
      path: '/api/admin/serving-clusters',
      body: {
        name: values.get('name'),
        proxyUrl: values.get('proxyUrl'),
        dashboardUrl: values.get('dashboardUrl'),
      },
    }),
    ['/api/admin/serving-clusters'],
  );
  return (
    <Page
      title="Models and rollouts"
      intro="The model registry: what /v1 serves, on which deployments, at which weights."
    >
      <Loaded query={models} what="the models">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No models yet.">
              <p>Add one below, then give it a deployment or roll out a version on a serving cluster.</p>
            </EmptyState>
          ) : (
            <Table columns={['Model', 'Status', 'Deployments', 'Prices (in, out per 1M)']}>
              {items.map((m) => (
                <tr key={m.id}>
                  <td>
                    <Link to={`/admin/models/${m.id}`}>{m.name}</Link>
                  </td>
                  <td>{m.status}</td>
                  <td>
                    {m.deployments.map((d) => `${d.version} (${d.stage}, weight ${d.weight})`).join('; ') ||
                      'none'}
                  </td>
                  <td>
                    {m.inputPricePerMillion}, {m.outputPricePerMillion}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
      <Section title="Add a model">
        <Form label="Add a model" error={create.error} onSubmit={(values) => create.mutate(values)}>
          <TextInput name="name" label="Name" description="What clients send as model." isRequired />
          <TextInput
            name="contextLength"
            label="Context length"
            type="number"
            defaultValue="4096"
            isRequired
          />
          <TextInput
            name="inputPricePerMillion"
            label="Input price per 1M tokens"
            type="number"
            defaultValue="0"
            isRequired
          />
          <TextInput
            name="outputPricePerMillion"
            label="Output price per 1M tokens"
            type="number"
            defaultValue="0"
            isRequired
          />
          <TextInput
            name="fallbackModel"
            label="Fallback model"
            description="Optional: tried when this one cannot answer."
          />
          <Button type="submit" isDisabled={create.isPending}>
            Add model
          </Button>
        </Form>
      </Section>
      <Section title="Serving clusters">
        <Loaded query={clusters} what="the serving clusters">
          {({ items }) =>
            items.length === 0 ? (
              <EmptyState title="No serving clusters yet." />
            ) : (
              <ul className="plain">
                {items.map((c) => (
                  <li key={c.id}>
                    <strong>{c.name}</strong>: proxy <code>{c.proxyUrl}</code>, dashboard{' '}
                    <code>{c.dashboardUrl}</code>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
        <Form
          label="Add a serving cluster"
          error={addCluster.error}
          onSubmit={(values) => addCluster.mutate(values)}
        >
          <TextInput name="name" label="Cluster name" isRequired />
          <TextInput name="proxyUrl" label="Serve proxy URL" type="url" isRequired />
          <TextInput name="dashboardUrl" label="Ray dashboard URL" type="url" isRequired />
          <Button type="submit" isDisabled={addCluster.isPending}>
            Add cluster
          </Button>
        </Form>
      </Section>
    </Page>
  );
}
