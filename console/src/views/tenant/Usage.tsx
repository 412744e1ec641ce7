import { saveFile } from '../../ui/download';
import { Table } from '../../ui/table';
import { useState } from 'react';
import { useParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useApiQuery, useSend } from '../../api/client';
import { Button } from '../../ui/forms';
import { EmptyState, ErrorNotice, Loaded } from '../../ui/notices';
import { Page, Section } from '../../ui/page';

interface UsageRow {
  period: string;
  group: string | null;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

interface UsageReport {
  rows: UsageRow[];
}

type Granularity = 'hour' | 'day';
type GroupBy = 'model' | 'key' | 'team';

const ranges: Record<Granularity, { label: string; ms: number }> = {
  hour: { label: 'the last 24 hours, by hour', ms: 24 * 3_600_000 },
  day: { label: 'the last 30 days, by day', ms: 30 * 86_400_000 },
};

const stepMs: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000 };

/** One chart point per period of the window, empty ones included, with a total per group (the bars stack). */
function chartData(rows: UsageRow[], granularity: Granularity, from: Date, to: Date) {
  const label = (at: Date) =>
    granularity === 'hour'
      ? at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
      : at.toLocaleDateString();
  const step = stepMs[granularity];
  const points = new Map<number, Record<string, number | string>>();
  for (let at = Math.floor(from.getTime() / step) * step; at < to.getTime(); at += step)
    points.set(at, { period: label(new Date(at)) });
  for (const row of rows) {
    const at = new Date(row.period).getTime();
    const point = points.get(at) ?? { period: label(new Date(at)) };
    const group = row.group ?? 'no team';
    point[group] = Number(point[group] ?? 0) + row.totalTokens;
    points.set(at, point);
  }
  return [...points.entries()].sort(([a], [b]) => a - b).map(([, point]) => point);
}

const palette = ['#1f5fbf', '#b3541e', '#2e7d32', '#7b1fa2', '#00838f', '#6d4c41'];

export function Usage() {
  const { orgId = '' } = useParams();
  const send = useSend();
  const [granularity, setGranularity] = useState<Granularity>('hour');
  const [groupBy, setGroupBy] = useState<GroupBy>('model');
  const [downloadError, setDownloadError] = useState<Error | null>(null);
  // The window is fixed when the choice changes, so the query key (and the cache) stays put.
  const [to] = useState(() => new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000));
  const from = new Date(to.getTime() - ranges[granularity].ms);
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), granularity, groupBy });
  const usage = useApiQuery<UsageReport>(`/api/orgs/${orgId}/usage?${query.toString()}`, {
    refetchInterval: 10_000,
  });

  const download = async () => {
    setDownloadError(null);
    try {
      const csv = await send<string>('GET', `/api/orgs/${orgId}/usage.csv?${query.toString()}`);
      saveFile(`usage-${orgId}-${granularity}-${groupBy}.csv`, csv, 'text/csv');
    } catch (err) {
      setDownloadError(err instanceof Error ? err : new Error('The download failed.'));
    }
  };

  return (
    <Page
      title="Usage"
      intro={`Tokens metered for ${ranges[granularity].label}. Usage appears within a minute of a request.`}
    >
      <div className="toolbar">
        <label className="inline-select">
          Period{' '}
          <select value={granularity} onChange={(e) => setGranularity(e.target.value as Granularity)}>
            <option value="hour">By hour (24 hours)</option>
            <option value="day">By day (30 days)</option>
          </select>
        </label>
        <label className="inline-select">
          Group by{' '}
          <select value={groupBy} onChange={(e) => setGroupBy(e.target.value as GroupBy)}>
            <option value="model">Model</option>
            <option value="key">API key</option>
            <option value="team">Team</option>
          </select>
        </label>
        <Button variant="secondary" onPress={() => void download()}>
          Download CSV
        </Button>
      </div>
      {downloadError ? <ErrorNotice error={downloadError} /> : null}
      <Loaded query={usage} what="the usage">
        {({ rows }) => {
          if (rows.length === 0)
            return (
              <EmptyState title="No usage in this period.">
                <p>Call /v1 with an API key of this organization; the requests show here.</p>
              </EmptyState>
            );
          const groups = [...new Set(rows.map((r) => r.group ?? 'no team'))];
          const totals = new Map<string, UsageRow>();
          for (const row of rows) {
            const key = row.group ?? 'no team';
            const sum = totals.get(key) ?? {
              ...row,
              requests: 0,
              errors: 0,
              promptTokens: 0,
              completionTokens: 0,
              totalTokens: 0,
            };
            sum.requests += row.requests;
            sum.errors += row.errors;
            sum.promptTokens += row.promptTokens;
            sum.completionTokens += row.completionTokens;
            sum.totalTokens += row.totalTokens;
            totals.set(key, sum);
          }
          return (
            <>
              <figure className="chart" aria-label={`Tokens by ${groupBy}`}>
                <ResponsiveContainer width="100%" height={280}>
                  <BarChart data={chartData(rows, granularity, from, to)}>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis dataKey="period" />
                    <YAxis />
                    <Tooltip />
                    <Legend />
                    {groups.map((group, i) => (
                      <Bar key={group} dataKey={group} stackId="tokens" fill={palette[i % palette.length]} />
                    ))}
                  </BarChart>
                </ResponsiveContainer>
              </figure>
              <Section title={`Totals by ${groupBy}`}>
                <Table
                  columns={[
                    groupBy === 'key' ? 'API key' : groupBy === 'team' ? 'Team' : 'Model',
                    'Requests',
                    'Errors',
                    'Prompt tokens',
                    'Completion tokens',
                    'Total tokens',
                  ]}
                >
                  {[...totals.entries()].map(([group, t]) => (
                    <tr key={group}>
                      <td>{group}</td>
                      <td>{t.requests}</td>
                      <td>{t.errors}</td>
                      <td>{t.promptTokens}</td>
                      <td>{t.completionTokens}</td>
                      <td>{t.totalTokens}</td>
                    </tr>
                  ))}
                </Table>
              </Section>
            </>
          );
        }}
      </Loaded>
    </Page>
  );
}
