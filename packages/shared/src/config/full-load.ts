/** The full-load section: the native engine's copy (jobs, chunks, index builds). */
import { z } from 'zod';

/**
 * The native engine's full load (`dmskit start --engine native`, the rehearsal): parallel COPY from the
 * replication slot's snapshot, then post-data.
 */
export const FullLoadSchema = z.strictObject({
  /**
   * Workers copying at once, and pg_restore jobs building indexes and constraints (`--jobs` overrides).
   * @default the number of cores of the machine running dmskit, at least 2
   */
  jobs: z.number().int().min(1).max(64).optional(),
  /**
   * Size of the parts (ctid block ranges) a large table is split into, in MiB, so that one table keeps
   * every worker busy. @default a third of one worker's share of the data, at least 32
   */
  chunkMb: z.number().min(0.1).max(1_048_576).optional(),
  /**
   * `maintenance_work_mem` the index builds on the target share, in MiB: each build gets what the running
   * ones leave, divided by the builds that may still start beside them (at least 64 MiB). @default 1024
   */
  maintenanceWorkMemMb: z.number().int().min(64).max(1_048_576).default(1024),
});
