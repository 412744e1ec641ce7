// Reads of the GPU allocation history (db/migrations/0021_gpu_allocations.sql), which a trigger on
// model_deployments writes: the stretches that overlap a period, and what is held now.
import { and, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { GpuInterval } from '../core/cost-analysis.js';
import type { Db, Tx } from './client.js';
import { gpuAllocations } from './schema/index.js';

/** The stretches that overlap [from, to), open ones included. */
export function gpuIntervals(tx: Db | Tx, from: Date, to: Date): Promise<GpuInterval[]> {
  return tx
    .select({
      model: gpuAllocations.modelName,
      pool: gpuAllocations.gpuType,
      gpus: gpuAllocations.gpus,
      startedAt: gpuAllocations.startedAt,
      endedAt: gpuAllocations.endedAt,
    })
    .from(gpuAllocations)
    .where(
      and(
        lt(gpuAllocations.startedAt, to),
        or(isNull(gpuAllocations.endedAt), gt(gpuAllocations.endedAt, from)),
      ),
    );
}

export interface GpusHeld {
  model: string;
  pool: string;
  gpus: number;
}

/** The GPUs held now, per model and pool. */
export function gpusHeld(tx: Db | Tx): Promise<GpusHeld[]> {
  return tx
    .select({
      model: gpuAllocations.modelName,
      pool: gpuAllocations.gpuType,
      gpus: sql<number>`sum(${gpuAllocations.gpus})::int`,
    })
    .from(gpuAllocations)
    .where(isNull(gpuAllocations.endedAt))
    .groupBy(gpuAllocations.modelName, gpuAllocations.gpuType);
}
