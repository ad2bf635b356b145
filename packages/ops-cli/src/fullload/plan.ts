import type { TableName } from '@dmskit/shared';
import { qualifiedName } from '@dmskit/validation';
import pg from 'pg';

/** One table as the full load copies it. */
export interface CopyTable extends TableName {
  /** Columns copied, in attribute order: stored columns only (generated and dropped ones are left out). */
  readonly columns: readonly string[];
  /** Whether COPY's binary format is safe: every column of a built-in type (see {@link planCopy}). */
  readonly binary: boolean;
  /** Size of the main fork at the snapshot, in bytes, and in blocks. */
  readonly bytes: number;
  readonly blocks: number;
  /** The planner's row estimate (`reltuples`); -1 when never analysed. */
  readonly estimatedRows: number;
  /** An ordinary table (`relkind` 'r'): `COPY table TO` reads it whole (see {@link copyOutSql}). */
  readonly ordinary?: boolean;
}

/** A part of a table that one worker copies in one COPY. */
export interface CopyChunk {
  readonly table: CopyTable;
  /** `ctid` block range `[from, to)`; `to` null: to the end. Absent: the whole table. */
  readonly blocks?: { readonly from: number; readonly to: number | null };
  /** The whole table in one transaction that truncates it first, so the load is `COPY ... FREEZE`. */
  readonly freeze: boolean;
  /** Estimated bytes of the chunk, for ordering and progress. */
  readonly bytes: number;
}

const TABLE_SQL = `
SELECT c.relpages, pg_relation_size(c.oid)::int8 AS bytes, current_setting('block_size')::int AS block_size,
       c.reltuples::float8 AS estimated_rows, c.relkind = 'r' AS ordinary,
       coalesce((SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                    AND coalesce(to_jsonb(a)->>'attgenerated', '') = ''), '[]') AS columns,
       coalesce((SELECT bool_and(b.oid < 16384 AND b.typsend <> 0 AND b.typreceive <> 0)
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), true) AS binary
  FROM pg_class c WHERE c.oid = $1::regclass`;

/**
 * Reads what the copy needs of each table, in the snapshot's transaction: stored columns (a generated
 * column is computed again on the target; PostgreSQL: "COPY" leaves generated columns out), size, and
 * whether the binary format is safe. Binary COPY is used only when every column's type (a domain's base
 * type) is built in (oid below 16384, "FirstNormalObjectId") with binary send and receive: the binary
 * format of an array or a composite embeds type oids, which differ between servers for user types
 * (PostgreSQL: "COPY", "Binary Format"; "pg_type").
 */
export async function describeCopyTables(
  source: pg.Client,
  tables: readonly TableName[],
): Promise<CopyTable[]> {
  const out: CopyTable[] = [];
  for (const t of tables) {
    const { rows } = await source.query(TABLE_SQL, [qualifiedName(t)]);
    const r = rows[0] as {
      bytes: string;
      block_size: number;
      estimated_rows: number;
      columns: string[];
      binary: boolean;
      ordinary: boolean;
    };
    const bytes = Number(r.bytes);
    out.push({
      schema: t.schema,
      table: t.table,
      columns: r.columns,
      binary: r.binary,
      bytes,
      blocks: Math.ceil(bytes / r.block_size),
      estimatedRows: Number(r.estimated_rows),
      ordinary: r.ordinary,
    });
  }
  return out;
}

/**
 * How much longer than a perfect share (the total over the workers) the busiest worker may copy before
 * tables are split: a table copied whole loads with `COPY ... FREEZE`, and a worker that runs out of
 * tables builds the indexes of the tables it copied meanwhile (see fullload/indexes.ts), so an uneven deal
 * of whole tables costs less than its bytes say. Measured (bench:fullload, 1 GB, 2 workers: tables of
 * 640 and 351 MB, the busiest 1.29 times a perfect share; BENCHMARKS.md, session 9): whole tables 0.87x
 * pgcopydb's wall, the larger table split into four ranges 0.90x, and the four ranges ran one after
 * another on one worker while the other copied the 351 MB table, which costs more per byte.
 */
const BALANCE_SLACK = 1.5;

/** The busiest worker's bytes when `sizes` are dealt largest first, each to the least loaded of `jobs`. */
export function busiestShare(sizes: readonly number[], jobs: number): number {
  const loads = new Array<number>(Math.max(1, jobs)).fill(0);
  for (const size of [...sizes].sort((a, b) => b - a)) {
    let least = 0;
    for (let i = 1; i < loads.length; i++) if ((loads[i] as number) < (loads[least] as number)) least = i;
    loads[least] = (loads[least] as number) + size;
  }
  return Math.max(...loads);
}

/**
 * µs one COPY stream takes per byte of table, for weighing a table's copy against the builds that wait
 * for it: about 60 MB/s per stream (bench:fullload, 1 GB with two streams in 8.2 s; BENCHMARKS.md,
 * session 15). Only the order depends on it.
 */
export const COPY_MICROS_PER_BYTE = 0.016;

/**
 * Splits the load into chunks for `jobs` workers and orders them by the chain each starts: the chunk's
 * copy plus `tailMicros` of its table, the longest build that waits for the table's rows
 * (fullload/build-units.ts costs), so the tables whose builds take longest come in first; without builds
 * that is largest first (longest-processing-time first, so the last chunks to finish are small). Tables
 * are copied whole, each truncated and loaded in
 * one transaction so that its COPY uses FREEZE (PostgreSQL: "COPY", FREEZE: no hint bits to set and no
 * freezing vacuum later), unless that leaves the busiest worker more than {@link BALANCE_SLACK} times a
 * perfect share: then the largest tables, one by one until the load is balanced, are split into `ctid`
 * block ranges of about a third of one worker's share (at least `minChunkBytes`), read with TID range
 * scans (PostgreSQL 14 and newer: "TID Range Scan"). On an older source, or with one worker, every table
 * is one chunk. With `chunkBytes` given, every table larger than it is split into chunks of that size.
 * @param minChunkBytes - smallest chunk worth splitting off, in bytes @default 32 MiB
 * @param chunkBytes - the chunk size, in bytes, instead of the one computed (config `fullLoad.chunkMb`)
 */
export function planCopy(
  tables: readonly CopyTable[],
  options: {
    jobs: number;
    sourceMajor: number;
    minChunkBytes?: number;
    chunkBytes?: number;
    /** µs of the longest build waiting for each table's rows, by `schema.table`. @default none */
    tailMicros?: ReadonlyMap<string, number>;
  },
): CopyChunk[] {
  const total = tables.reduce((n, t) => n + t.bytes, 0);
  const chunkBytes =
    options.chunkBytes ?? Math.max(options.minChunkBytes ?? 32 * 1024 * 1024, total / (options.jobs * 3));
  const canSplit = options.sourceMajor >= 14 && options.jobs > 1;
  const tail = (t: CopyTable) => options.tailMicros?.get(`${t.schema}.${t.table}`) ?? 0;
  const split = new Set<CopyTable>();
  const partsOf = (t: CopyTable) => (split.has(t) ? Math.ceil(t.bytes / chunkBytes) : 1);
  if (canSplit && options.chunkBytes !== undefined) {
    for (const t of tables) if (t.bytes > chunkBytes) split.add(t);
  } else if (canSplit) {
    const busiest = () =>
      busiestShare(
        tables.flatMap((t) => new Array<number>(partsOf(t)).fill(t.bytes / partsOf(t))),
        options.jobs,
      );
    for (const t of [...tables].sort((a, b) => b.bytes - a.bytes)) {
      if (t.bytes <= chunkBytes || busiest() <= BALANCE_SLACK * (total / options.jobs)) break;
      split.add(t);
    }
  }
  const chunks: CopyChunk[] = [];
  for (const table of tables) {
    const parts = partsOf(table);
    if (parts <= 1) {
      chunks.push({ table, freeze: true, bytes: table.bytes });
      continue;
    }
    const per = Math.ceil(table.blocks / parts);
    for (let i = 0; i < parts; i++) {
      const from = i * per;
      // The last range is open: a page added after the plan holds no row the snapshot sees, but costs nothing.
      const to = i === parts - 1 ? null : (i + 1) * per;
      chunks.push({ table, blocks: { from, to }, freeze: false, bytes: table.bytes / parts });
    }
  }
  // A table whose longest build outlasts the whole copy is not split to bring its rows in sooner: two
  // COPYs into one table wait on its extension lock, and the build then competes with the copy
  // (bench:fullload, 1 GB `indexed`, the wide table split over both workers and copied first: 58.2 s
  // against 45.4 s whole; BENCHMARKS.md, session 16).
  const chain = (c: CopyChunk) => c.bytes * COPY_MICROS_PER_BYTE + tail(c.table);
  return chunks.sort((a, b) => chain(b) - chain(a) || b.bytes - a.bytes);
}

/** `COPY (SELECT ...) TO STDOUT` of a chunk, on the source. */
export function copyOutSql(chunk: CopyChunk): string {
  const t = chunk.table;
  // A table without a stored column: `SELECT FROM` gives its rows with no values.
  const cols = t.columns.map((c) => pg.escapeIdentifier(c)).join(', ');
  const format = t.binary ? ' (FORMAT binary)' : '';
  // A whole ordinary table: `COPY table TO` copies the rows `SELECT ... FROM ONLY table` gives (never a
  // child's; PostgreSQL: "COPY"), without the executor in between (about a tenth less work on the source).
  if (!chunk.blocks && t.ordinary && cols) return `COPY ${qualifiedName(t)} (${cols}) TO STDOUT${format}`;
  const where: string[] = [];
  if (chunk.blocks) {
    if (chunk.blocks.from > 0) where.push(`ctid >= '(${chunk.blocks.from},0)'::tid`);
    if (chunk.blocks.to !== null) where.push(`ctid < '(${chunk.blocks.to},0)'::tid`);
  }
  const filter = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  return `COPY (SELECT ${cols} FROM ONLY ${qualifiedName(t)}${filter}) TO STDOUT${format}`;
}

/** `COPY ... FROM STDIN` of a chunk, on the target. */
export function copyInSql(chunk: CopyChunk): string {
  const t = chunk.table;
  const cols = t.columns.map((c) => pg.escapeIdentifier(c)).join(', ');
  const options = [...(t.binary ? ['FORMAT binary'] : []), ...(chunk.freeze ? ['FREEZE'] : [])];
  return `COPY ${qualifiedName(t)}${cols ? ` (${cols})` : ''} FROM STDIN${options.length ? ` (${options.join(', ')})` : ''}`;
}
