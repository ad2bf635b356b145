import type { TableName } from '@dmskit/shared';
import pg from 'pg';

/** A column as the catalog describes it. */
export interface ColumnInfo {
  readonly name: string;
  /** `format_type` output with modifiers, e.g. `numeric(12,2)`, `character varying(40)`. */
  readonly type: string;
  readonly notNull: boolean;
}

/** A table that holds rows (ordinary table or leaf partition; partitioned parents hold none). */
export interface TableInfo extends TableName {
  /** `r` ordinary table or leaf partition. */
  readonly kind: 'r';
  /** Primary-key columns in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
  /**
   * For a table without a primary key: the columns of a unique index that can name rows as a key (not
   * partial, no expression, every column NOT NULL; the replica identity index first, then the one with
   * the fewest columns); empty when there is none or the table has a primary key.
   */
  readonly uniqueKey: readonly string[];
  /** Columns in attribute order. */
  readonly columns: readonly ColumnInfo[];
  /** The planner's row estimate (`pg_class.reltuples`); -1 when never analyzed. */
  readonly estimatedRows: number;
  /** Size of the table's main fork, in bytes. */
  readonly bytes: number;
  /** `d` default, `f` full, `i` index, `n` nothing (PostgreSQL: "ALTER TABLE ... REPLICA IDENTITY"). */
  readonly replicaIdentity: 'd' | 'f' | 'i' | 'n';
  /** Whether UPDATE and DELETE can be published: a primary key, a replica identity index, or FULL. */
  readonly hasReplicaIdentity: boolean;
  /** The parent when this table is a partition. */
  readonly partitionOf?: TableName;
  /**
   * `CREATE UNLOGGED TABLE` (`relpersistence` 'u'): its changes are not WAL-logged, so logical decoding
   * never sees them and no publication may hold it (PostgreSQL: "CREATE PUBLICATION").
   */
  readonly unlogged?: boolean;
}

const LIST_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table, c.relpersistence = 'u' AS unlogged, c.reltuples::float8 AS estimated_rows, pg_relation_size(c.oid)::int8 AS bytes, c.relreplident AS replident,
       pk.cols AS pk_cols, uk.cols AS uk_cols,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident) AS has_ident_index,
       pn.nspname AS parent_schema, pc.relname AS parent_table,
       (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                          'notNull', a.attnotnull) ORDER BY a.attnum)
          FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (
        SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
          FROM pg_index i
          CROSS JOIN LATERAL unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid AND i.indisprimary) pk ON true
  LEFT JOIN LATERAL (
        SELECT (SELECT array_agg(a.attname::text ORDER BY k.ord)
                  FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols
          FROM pg_index i
         WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid
           AND i.indpred IS NULL AND i.indexprs IS NULL AND NOT i.indisprimary
           AND NOT EXISTS (SELECT 1 FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) AS k(attnum)
                             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                            WHERE NOT a.attnotnull)
         ORDER BY i.indisreplident DESC, i.indnkeyatts, i.indexrelid
         LIMIT 1) uk ON pk.cols IS NULL
  LEFT JOIN pg_inherits inh ON inh.inhrelid = c.oid AND c.relispartition
  LEFT JOIN pg_class pc ON pc.oid = inh.inhparent
  LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
 WHERE c.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2`;

/**
 * Every user table that holds rows, with its key, columns and replica identity. Tables that belong to an
 * extension (their rows are the extension's business) are left out.
 */
export async function listTables(client: pg.Client): Promise<TableInfo[]> {
  const { rows } = await client.query(LIST_TABLES_SQL);
  return rows.map((r) => {
    const primaryKey: string[] = r.pk_cols ?? [];
    const replicaIdentity = r.replident as TableInfo['replicaIdentity'];
    const hasReplicaIdentity =
      replicaIdentity === 'f' ||
      (replicaIdentity === 'd' && primaryKey.length > 0) ||
      (replicaIdentity === 'i' && r.has_ident_index);
    return {
      schema: r.schema,
      table: r.table,
      kind: 'r' as const,
      primaryKey,
      uniqueKey: primaryKey.length ? [] : (r.uk_cols ?? []),
      columns: r.columns ?? [],
      estimatedRows: Number(r.estimated_rows),
      bytes: Number(r.bytes),
      replicaIdentity,
      hasReplicaIdentity,
      ...(r.unlogged ? { unlogged: true } : {}),
      ...(r.parent_table ? { partitionOf: { schema: r.parent_schema, table: r.parent_table } } : {}),
    };
  });
}

/** `schema.table` key for maps (unambiguous: the separator is a NUL byte). */
export function tableKey(t: TableName): string {
  return `${t.schema}\u0000${t.table}`;
}

/** `"schema"."table"` quoted by node-postgres' escapeIdentifier. */
export function qualifiedName(t: TableName): string {
  return `${pg.escapeIdentifier(t.schema)}.${pg.escapeIdentifier(t.table)}`;
}
