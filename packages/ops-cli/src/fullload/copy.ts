import { ExternalError, type TableName } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection, qualifiedName } from '@dmskit/validation';
import type pg from 'pg';
import { faultPoint } from '../runbook/faults.js';
import { sleep } from '../util/time.js';
import { type CopyChunk, type CopyTable, copyInSql, copyOutSql } from './plan.js';
import { relayCopy } from './raw-copy.js';
import { pooledStream, ReadPool } from './socket-reads.js';

/** How far one table's load is. */
export interface TableLoad extends TableName {
  readonly state: 'waiting' | 'copying' | 'done';
  /** Rows copied so far (exact for finished chunks, the source's `pg_stat_progress_copy` for running ones). */
  readonly rows: number;
  /** COPY bytes streamed so far (the wire format, not the size on disk). */
  readonly bytes: number;
  /** The planner's row estimate of the table; -1 when never analysed. */
  readonly estimatedRows: number;
  /** Size of the table on the source, in bytes. */
  readonly relationBytes: number;
  /** Wall time of the table's load so far, from its first chunk's start, in ms. */
  readonly ms: number;
  /** Estimated time left, in ms; null when unknown. */
  readonly etaMs: number | null;
  /** The parts the table is copied in. */
  readonly chunks: number;
}

/** The whole load at one moment. */
export interface LoadFigures {
  readonly tables: readonly TableLoad[];
  readonly jobs: number;
  readonly elapsedMs: number;
  readonly rows: number;
  readonly bytes: number;
  /** Share of the load done, 0..1, weighted by table size. */
  readonly fraction: number;
  /** Estimated time left, in ms; null until enough is copied to tell. */
  readonly etaMs: number | null;
}

/** The result of a table's load: exact rows, COPY bytes, wall time, and the parts it was copied in. */
export interface TableLoadResult extends TableName {
  readonly rows: number;
  readonly bytes: number;
  readonly ms: number;
  /** 1: copied whole (with FREEZE); more: split into that many ctid ranges. */
  readonly chunks: number;
}

interface ChunkRun {
  readonly chunk: CopyChunk;
  state: 'waiting' | 'copying' | 'done';
  rows: number;
  bytes: number;
  pid?: number;
  started?: number;
  ended?: number;
}

function tableKeyOf(t: TableName): string {
  return `${t.schema}\u0000${t.table}`;
}

/** Per-table and whole figures from the chunks' state. */
function loadFigures(runs: readonly ChunkRun[], jobs: number, startedAt: number): LoadFigures {
  const now = performance.now();
  const byTable = new Map<string, { table: CopyTable; runs: ChunkRun[] }>();
  for (const r of runs) {
    const key = tableKeyOf(r.chunk.table);
    const entry = byTable.get(key) ?? { table: r.chunk.table, runs: [] };
    entry.runs.push(r);
    byTable.set(key, entry);
  }
  const tables: TableLoad[] = [];
  let weighted = 0;
  let weights = 0;
  for (const { table, runs: rs } of byTable.values()) {
    const rows = rs.reduce((n, r) => n + r.rows, 0);
    const bytes = rs.reduce((n, r) => n + r.bytes, 0);
    const done = rs.every((r) => r.state === 'done');
    const started = rs.filter((r) => r.started !== undefined).map((r) => r.started as number);
    const first = started.length ? Math.min(...started) : undefined;
    const last = done ? Math.max(...rs.map((r) => r.ended ?? now)) : now;
    const ms = first === undefined ? 0 : Math.round(last - first);
    const chunksDone = rs.filter((r) => r.state === 'done').length / rs.length;
    const fraction = done
      ? 1
      : table.estimatedRows > 0
        ? Math.min(0.99, Math.max(chunksDone, rows / table.estimatedRows))
        : chunksDone;
    const state = done ? 'done' : first === undefined ? 'waiting' : 'copying';
    const etaMs = done ? 0 : state === 'copying' && fraction > 0.01 ? (ms * (1 - fraction)) / fraction : null;
    tables.push({
      schema: table.schema,
      table: table.table,
      state,
      rows,
      bytes,
      estimatedRows: table.estimatedRows,
      relationBytes: table.bytes,
      ms,
      etaMs: etaMs === null ? null : Math.round(etaMs),
      chunks: rs.length,
    });
    const weight = Math.max(table.bytes, 8192);
    weighted += weight * fraction;
    weights += weight;
  }
  const fraction = weights ? weighted / weights : 1;
  const elapsedMs = Math.round(now - startedAt);
  const etaMs =
    fraction >= 1 ? 0 : fraction > 0.02 ? Math.round((elapsedMs * (1 - fraction)) / fraction) : null;
  return {
    tables,
    jobs,
    elapsedMs,
    rows: tables.reduce((n, t) => n + t.rows, 0),
    bytes: tables.reduce((n, t) => n + t.bytes, 0),
    fraction,
    etaMs,
  };
}

async function copyChunk(source: pg.Client, target: pg.Client, run: ChunkRun): Promise<void> {
  const { chunk } = run;
  await target.query('BEGIN');
  // Truncated in the loading transaction, so the COPY may FREEZE its rows (PostgreSQL: "COPY", FREEZE).
  if (chunk.freeze) await target.query(`TRUNCATE ONLY ${qualifiedName(chunk.table)}`);
  const { rows } = await relayCopy(source, target, copyOutSql(chunk), copyInSql(chunk), (bytes) => {
    run.bytes = bytes;
  });
  await target.query('COMMIT');
  run.rows = rows;
}

/**
 * Copies the chunks with `jobs` workers, each with one source session that reads at `snapshot` (a
 * REPEATABLE READ transaction with `SET TRANSACTION SNAPSHOT`, PostgreSQL: "SET TRANSACTION") for all its
 * chunks, and one target session that loads each chunk in a transaction of its own. Rows stream from the
 * source's `COPY TO` into the target's `COPY FROM` ({@link relayCopy}) with no file and bounded memory
 * (about 1 MB per worker). The target's tables in scope are truncated first, so a
 * retried load never duplicates a row. `onProgress` gets the figures every `progressMs` (500 ms).
 * @returns each table's exact rows, COPY bytes and wall time (ms)
 * @throws ExternalError when a session fails (the other workers are stopped, their sessions ended; what a
 *   chunk loaded is rolled back); the signal's reason when aborted
 */
export async function parallelCopy(options: {
  source: ConnectionInput;
  target: ConnectionInput;
  /** A session on the source, for `pg_stat_progress_copy`. */
  monitor: pg.Client;
  snapshot: string;
  chunks: readonly CopyChunk[];
  jobs: number;
  /**
   * Tables (qualified names) truncated before any chunk starts: those split across chunks, whose rows an
   * earlier, stopped load may have left. A table copied whole is truncated in its own chunk's transaction.
   */
  truncate?: readonly string[];
  onProgress?: (figures: LoadFigures) => void;
  /** Called once a table's last chunk is committed (its indexes may be built while others copy). */
  onTableDone?: (table: TableName) => void;
  /**
   * Called each time a worker finds no chunk left to copy, with the number of workers idle so far and the
   * number of workers: the cores they leave may build indexes. A worker that has just copied the last
   * chunk reports before that chunk's table is reported done.
   */
  onWorkersIdle?: (idle: number, workers: number) => void;
  progressMs?: number;
  signal?: AbortSignal;
}): Promise<TableLoadResult[]> {
  const runs: ChunkRun[] = options.chunks.map((chunk) => ({ chunk, state: 'waiting', rows: 0, bytes: 0 }));
  const jobs = Math.max(1, Math.min(options.jobs, runs.length));
  const startedAt = performance.now();
  const sessions: pg.Client[] = [];
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // A failed or aborted load ends every session, which also ends the COPY streams that wait on them.
  stop.signal.addEventListener('abort', () => {
    for (const s of sessions) void closeQuietly(s);
  });
  let next = 0;
  let idle = 0;
  let firstDone = false;
  const worker = async (): Promise<void> => {
    // The source session's reads carry the rows: into pooled buffers (see socket-reads.ts).
    const source = await openConnection(options.source, 'source', {
      pinSettings: true,
      applicationName: 'dmskit-full-load',
      stream: pooledStream(new ReadPool()),
    });
    sessions.push(source);
    const target = await openConnection(options.target, 'target', {
      pinSettings: true,
      applicationName: 'dmskit-full-load',
    });
    sessions.push(target);
    stop.signal.throwIfAborted();
    await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await source.query(`SET TRANSACTION SNAPSHOT '${options.snapshot.replace(/'/g, "''")}'`);
    let idleReported = false;
    while (next < runs.length) {
      stop.signal.throwIfAborted();
      const run = runs[next++] as ChunkRun;
      run.state = 'copying';
      run.pid = (source as pg.Client & { processID?: number }).processID;
      run.started = performance.now();
      await copyChunk(source, target, run);
      run.ended = performance.now();
      run.state = 'done';
      if (next >= runs.length) {
        idleReported = true;
        options.onWorkersIdle?.(++idle, jobs);
      }
      const key = tableKeyOf(run.chunk.table);
      if (runs.every((r) => tableKeyOf(r.chunk.table) !== key || r.state === 'done'))
        options.onTableDone?.(run.chunk.table);
      if (!firstDone) {
        firstDone = true;
        await faultPoint('full-load:chunk', stop.signal);
      }
    }
    if (!idleReported) options.onWorkersIdle?.(++idle, jobs);
    await source.query('COMMIT');
  };
  const report = async (): Promise<void> => {
    const every = options.progressMs ?? 500;
    while (!stop.signal.aborted) {
      await sleep(every, stop.signal).catch(() => undefined);
      if (stop.signal.aborted) return;
      const pids = runs.filter((r) => r.state === 'copying' && r.pid).map((r) => r.pid as number);
      if (pids.length) {
        const live = await options.monitor
          .query(
            'SELECT pid, tuples_processed::int8 AS n FROM pg_stat_progress_copy WHERE pid = ANY($1::int[])',
            [pids],
          )
          .catch(() => ({ rows: [] as { pid: number; n: string }[] }));
        for (const row of live.rows as { pid: number; n: string }[]) {
          const run = runs.find((r) => r.state === 'copying' && r.pid === row.pid);
          if (run) run.rows = Number(row.n);
        }
      }
      options.onProgress?.(loadFigures(runs, jobs, startedAt));
    }
  };
  if (options.truncate?.length) {
    const t = await openConnection(options.target, 'target', { applicationName: 'dmskit-full-load' });
    try {
      await t.query(`TRUNCATE ONLY ${options.truncate.join(', ')}`);
    } finally {
      await closeQuietly(t);
    }
  }
  const reporter = report();
  try {
    // Settled, not raced: a worker still connecting when another fails must not leave a session behind.
    const settled = await Promise.allSettled(
      Array.from({ length: jobs }, () =>
        worker().catch((error) => {
          if (!stop.signal.aborted) stop.abort(error);
          throw error;
        }),
      ),
    );
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      if (options.signal?.aborted) throw options.signal.reason;
      const reason = stop.signal.reason ?? failed.reason;
      const run = runs.find((r) => r.state === 'copying');
      const where = run ? ` (copying ${qualifiedName(run.chunk.table)})` : '';
      throw reason instanceof ExternalError
        ? reason
        : new ExternalError(`full load failed${where}: ${(reason as Error)?.message ?? String(reason)}`, {
            cause: reason,
          });
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!stop.signal.aborted) stop.abort();
    await reporter;
    await Promise.all(sessions.map((s) => closeQuietly(s)));
  }
  const final = loadFigures(runs, jobs, startedAt);
  options.onProgress?.(final);
  return final.tables.map((t) => ({
    schema: t.schema,
    table: t.table,
    rows: t.rows,
    bytes: t.bytes,
    ms: t.ms,
    chunks: t.chunks,
  }));
}
