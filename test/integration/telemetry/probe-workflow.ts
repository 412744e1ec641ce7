// A one-activity workflow for the worker tracing test.
import { proxyActivities } from '@temporalio/workflow';

export interface ProbeActivities {
  probeActivity(name: string): Promise<string>;
}

const { probeActivity } = proxyActivities<ProbeActivities>({ startToCloseTimeout: '10 seconds' });

export async function telemetryProbe(name: string): Promise<string> {
  return probeActivity(name);
}
