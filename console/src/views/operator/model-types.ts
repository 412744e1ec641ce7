export interface Deployment {
  id: string;
  version: string;
  upstreamModel: string;
  urls: string[];
  weight: number;
  state: 'active' | 'draining' | 'disabled';
  stage: 'registered' | 'deploying' | 'canary' | 'serving' | 'draining' | 'retired' | 'failed';
  cluster: string | null;
  failureReason: string | null;
}

export interface Model {
  id: string;
  name: string;
  status: 'active' | 'disabled';
  contextLength: number;
  inputPricePerMillion: number;
  outputPricePerMillion: number;
  deployments: Deployment[];
}

export interface RolloutProgress {
  model: string;
  version: string;
  phase: 'deploying' | 'canary' | 'draining' | 'succeeded' | 'rolling-back' | 'rolled-back' | 'aborted';
  paused: boolean;
  step: number;
  percent: number;
  awaitingApproval: number | null;
  plan: { steps: { percent: number; holdSeconds: number; requireApproval: boolean }[] };
  lastGate: { verdict: 'pass' | 'fail' | 'wait'; reason: string } | null;
  reason: string | null;
  events: { at: string; what: string }[];
}
