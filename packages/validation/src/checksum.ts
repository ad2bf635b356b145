import type { TableName } from '@dmskit/shared';
import pg from 'pg';

/** Row count and an order-independent 128-bit checksum of a table's rows, computed inside the database. */
export interface TableChecksum {
  /** Rows (count(*)). */
  readonly rows: number;
  /** Two sums of 64-bit hashes with different seeds, as decimal strings joined by `/`. */
  readonly checksum: string;
}

/** `"schema"."table"` quoted by node-postgres' escapeIdentifier. */
export function qualifiedName(t: TableName): string {
  return `${pg.escapeIdentifier(t.schema)}.${pg.escapeIdentifier(t.table)}`;
}

/**
 * The SQL that sums `hashtextextended(ROW(cols)::text, seed)` over a table for two seeds. The row
 * constructor's text form quotes and escapes each field, so NULL, an empty string and a separator inside a
 * value cannot collide (PostgreSQL: "Composite Types", "Composite Type Input and Output Syntax"). The sum
 * over numeric is independent of row order and counts duplicates. `columns` must be in the same order on
 * both sides (callers sort them by name).
 */
export function tableChecksumSql(table: TableName, columns: readonly string[]): string {
  const row = `ROW(${columns.map((c) => pg.escapeIdentifier(c)).join(', ')})::text`;
  return `SELECT count(*)::int8 AS rows,
       coalesce(sum(hashtextextended(${row}, 0)::numeric), 0)::text || '/' ||
       coalesce(sum(hashtextextended(${row}, 1)::numeric), 0)::text AS checksum
  FROM ONLY ${qualifiedName(table)}`;
}

/**
 * Counts and checksums one table on one server (one sequential scan). The client should have the
 * pinned settings of {@link openConnection}.
 */
export async function tableChecksum(
  client: pg.Client,
  table: TableName,
  columns: readonly string[],
): Promise<TableChecksum> {
  const { rows } = await client.query(tableChecksumSql(table, columns));
  const r = rows[0] as { rows: string; checksum: string };
  return { rows: Number(r.rows), checksum: r.checksum };
}
