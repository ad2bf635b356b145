import { availableParallelism } from 'node:os';
import type { TableName } from '@dmskit/shared';
import { type ConnectionInput, qualifiedName } from '@dmskit/validation';
import type pg from 'pg';
import type { Progress } from '../ui/progress.js';
import { since } from '../util/time.js';
import { type LoadFigures, parallelCopy, type TableLoadResult } from './copy.js';
import { describeCopyTables, planCopy } from './plan.js';
import { createSnapshotSlot } from './slot.js';

/** What a full load did: wall time (ms), rows, and each table's rows, COPY bytes and ms. */
export interface FullLoadResult {
  ms: number;
  rows: number;
  /** The slot's consistent point: CDC carries every change committed after it. */
  consistentPoint?: string;
  tables: TableLoadResult[];
}

/** Workers when neither `--jobs` nor the config says: the machine's cores, at least 2. */
export function defaultJobs(): number {
  return Math.max(2, availableParallelism());
}

/**
 * The native engine's full load: creates the replication slot `slot` with an exported snapshot, copies
 * every table at that snapshot with `jobs` workers (large tables split into ctid ranges), then lets the
 * snapshot go. The slot stays: a subscription created on it afterwards (`copy_data = false`) applies
 * exactly the changes committed after the copy's snapshot, none twice and none missed (PostgreSQL:
 * "Logical Decoding Concepts", "Exported Snapshots"). The target's tables in scope are truncated first.
 * @throws UsageError when the slot name is taken; ExternalError when a server fails (the caller drops the
 *   slot it recorded); the signal's reason when aborted
 */
export async function fullLoad(options: {
  sourceUrl: ConnectionInput;
  targetUrl: ConnectionInput;
  /** A session on the source (catalog and progress queries). */
  source: pg.Client;
  /** The replication slot to create; the caller records it first, so a cleanup knows it. */
  slot: string;
  sourceMajor: number;
  tables: readonly TableName[];
  jobs: number;
  /** The figures, every 500 ms (besides the progress display). */
  onFigures?: (figures: LoadFigures) => void;
  /** Called once a table's rows are all in (see {@link parallelCopy}). */
  onTableDone?: (table: TableName) => void;
  /** Called each time a worker finds no chunk left, with the number of idle workers and of workers. */
  onWorkersIdle?: (idle: number, workers: number) => void;
  /** Chunk size of split tables, in bytes. @default computed by {@link planCopy} */
  chunkBytes?: number;
  /** µs of the longest build waiting for each table's rows (`schema.table`), for the copy's order. */
  tailMicros?: ReadonlyMap<string, number>;
  progress: Progress;
  signal?: AbortSignal;
}): Promise<FullLoadResult> {
  const { progress } = options;
  const t = performance.now();
  progress.phase(
    `full load: replication slot ${options.slot} with an exported snapshot, then ${options.jobs} worker(s) copying ${options.tables.length} table(s)`,
  );
  const slot = await createSnapshotSlot(options.sourceUrl, options.slot, options.sourceMajor, {
    signal: options.signal,
    say: (line) => progress.info(line),
  });
  try {
    const tables = await describeCopyTables(options.source, options.tables);
    const chunks = planCopy(tables, {
      jobs: options.jobs,
      sourceMajor: options.sourceMajor,
      ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}),
      ...(options.tailMicros ? { tailMicros: options.tailMicros } : {}),
    });
    const split = new Set(chunks.filter((c) => c.blocks).map((c) => qualifiedName(c.table)));
    const results = await parallelCopy({
      source: options.sourceUrl,
      target: options.targetUrl,
      monitor: options.source,
      snapshot: slot.snapshot,
      chunks,
      jobs: options.jobs,
      truncate: [...split],
      onProgress: (figures) => {
        progress.load(figures);
        options.onFigures?.(figures);
      },
      ...(options.onTableDone ? { onTableDone: options.onTableDone } : {}),
      ...(options.onWorkersIdle ? { onWorkersIdle: options.onWorkersIdle } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    progress.stop();
    return {
      ms: since(t),
      rows: results.reduce((n, r) => n + r.rows, 0),
      consistentPoint: slot.consistentPoint,
      tables: results,
    };
  } finally {
    await slot.release();
  }
}
