// The cost gauges, for the cost dashboard (deploy/helm/vlinders/dashboards/cost.json): the GPUs each
// model holds per pool, from the registry in memory (no query per scrape), and each pool's price
// per hour from the configuration. Cost per hour per model is their product, joined on the pool.
// Every API replica reports the same values: dashboards take the max across replicas, not the sum.
import type { Meter, ObservableResult } from '@opentelemetry/api';
import type { PoolPrices } from '../../core/cost-analysis.js';
import type { ModelRegistry } from './registry.js';

/** Registers the gauges; the returned function removes their callbacks. */
export function observeGpuCosts(
  meter: Meter,
  registry: ModelRegistry,
  prices: PoolPrices,
  currency: string,
): () => void {
  const allocated = meter.createObservableGauge('vlinders_model_gpus_allocated', {
    description:
      "GPUs held by a model's deployments (gpu_count × replicas, while deployed), by model and pool",
  });
  const price = meter.createObservableGauge('vlinders_gpu_pool_cost_per_hour', {
    description: 'Price of one GPU for one hour, by pool and currency (GPU_COST_PER_HOUR)',
  });
  const observeAllocated = (result: ObservableResult) => {
    for (const held of registry.gpusHeld()) result.observe(held.gpus, { model: held.model, pool: held.pool });
  };
  const observePrice = (result: ObservableResult) => {
    for (const [pool, perHour] of Object.entries(prices)) result.observe(perHour, { pool, currency });
  };
  allocated.addCallback(observeAllocated);
  price.addCallback(observePrice);
  return () => {
    allocated.removeCallback(observeAllocated);
    price.removeCallback(observePrice);
  };
}
