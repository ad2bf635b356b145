import { readFile } from 'node:fs/promises';
import { type CatalogTable, displayName } from '@dmskit/shared';
import { closeQuietly, listTables, openConnection, qualifiedName } from '@dmskit/validation';
import pg from 'pg';
import { parseConnectionUrl, urlWithDatabase } from '../pg/url.js';

/** Fields the migration program fills in by hand; a new catalog run keeps them. */
export interface CatalogOwnerFields {
  applicationOwner: string | null;
  sla: string | null;
  migrationWave: string | null;
  notes: string | null;
}

/** One database of the inventory. */
export interface CatalogDatabase extends CatalogOwnerFields {
  readonly name: string;
  /** Whether the database was found on the last run (false: it was dropped since). */
  present: boolean;
  sizeBytes: number;
  tableCount: number;
  estimatedRows: number;
  largestTables: { table: string; bytes: number; estimatedRows: number }[];
  lobColumns: { column: string; type: string }[];
  largeObjects: number;
  tablesWithoutPrimaryKey: string[];
  /** UNLOGGED tables: their changes never reach the WAL, so CDC cannot carry them (absent in catalogs before it). */
  unloggedTables?: string[];
  extensions: { name: string; version: string }[];
  partitionedTables: string[];
  /** Every table with its columns and partitions: what `task.sourceCatalogFile` checks mappings against. */
  tables: CatalogTable[];
}

/** The inventory of one source server. */
export interface Catalog {
  readonly kind: 'dmskit-catalog';
  readonly version: 1;
  server: { address: string; postgresVersion: string };
  generatedAt: string;
  databases: CatalogDatabase[];
}

const LOB = /^(text|bytea|json|jsonb|xml)$|\[\]$/;

async function catalogDatabase(
  url: string,
  name: string,
): Promise<Omit<CatalogDatabase, keyof CatalogOwnerFields>> {
  const c = await openConnection(url, 'source', { applicationName: 'dmskit-catalog' });
  try {
    const tables = await listTables(c);
    const size = Number(
      ((await c.query('SELECT pg_database_size(current_database())::int8 AS b')).rows[0] as { b: string }).b,
    );
    const largest = await c.query(
      `SELECT n.nspname AS schema, c.relname AS table, pg_total_relation_size(c.oid)::int8 AS bytes, greatest(c.reltuples, 0)::int8 AS est
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 10`,
    );
    const partitioned = await c.query(
      `SELECT n.nspname AS schema, c.relname AS table, (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'p' ORDER BY 1, 2`,
    );
    const ext = await c.query('SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY 1');
    const lo = Number(
      ((await c.query('SELECT count(*)::int8 AS n FROM pg_largeobject_metadata')).rows[0] as { n: string }).n,
    );
    const totals = new Map(
      (
        await c.query(
          `SELECT n.nspname AS schema, c.relname AS table, pg_total_relation_size(c.oid)::int8 AS bytes
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`,
        )
      ).rows.map((r: { schema: string; table: string; bytes: string }) => [`${r.schema}.${r.table}`, Number(r.bytes)]),
    );
    const catalogTables: CatalogTable[] = [];
    for (const t of tables) {
      // A single-column integer key's range (two index probes): what task.splitLargest cuts ranges from.
      const key = t.primaryKey.length === 1 ? t.columns.find((x) => x.name === t.primaryKey[0]) : undefined;
      let keyRange: CatalogTable['keyRange'];
      if (key && /^(smallint|integer|bigint)$/.test(key.type)) {
        const col = pg.escapeIdentifier(key.name);
        const { rows } = await c.query(
          `SELECT min(${col})::text AS min, max(${col})::text AS max FROM ${qualifiedName(t)}`,
        );
        const r = rows[0] as { min: string | null; max: string | null };
        if (r.min !== null && r.max !== null) keyRange = { column: key.name, min: r.min, max: r.max };
      }
      catalogTables.push({
        schema: t.schema,
        table: t.table,
        columns: t.columns.map((x) => x.name),
        bytes: totals.get(`${t.schema}.${t.table}`) ?? t.bytes,
        ...(keyRange ? { keyRange } : {}),
        ...(t.partitionOf ? { partitionOf: t.partitionOf } : {}),
      });
    }
    catalogTables.push(
      ...partitioned.rows.map((r: { schema: string; table: string; columns: string[] }) => ({
        schema: r.schema,
        table: r.table,
        columns: r.columns,
        partitioned: true,
      })),
    );
    return {
      name,
      present: true,
      sizeBytes: size,
      tableCount: tables.length,
      estimatedRows: tables.reduce((s, t) => s + Math.max(0, t.estimatedRows), 0),
      largestTables: largest.rows.map((r: { schema: string; table: string; bytes: string; est: string }) => ({
        table: displayName(r),
        bytes: Number(r.bytes),
        estimatedRows: Number(r.est),
      })),
      lobColumns: tables.flatMap((t) =>
        t.columns
          .filter((x) => LOB.test(x.type))
          .map((x) => ({ column: `${displayName(t)}.${x.name}`, type: x.type })),
      ),
      largeObjects: lo,
      tablesWithoutPrimaryKey: tables.filter((t) => t.primaryKey.length === 0).map((t) => displayName(t)),
      unloggedTables: tables.filter((t) => t.unlogged).map((t) => displayName(t)),
      extensions: ext.rows as { name: string; version: string }[],
      partitionedTables: partitioned.rows.map((r: { schema: string; table: string }) => displayName(r)),
      tables: catalogTables,
    };
  } finally {
    await closeQuietly(c);
  }
}

/**
 * Inventories every database of a source server (the first step of a migration program): size,
 * version, tables, rows, largest tables, LOB-like columns, large objects, tables without a primary key,
 * extensions, partitioned tables. Merged into `previous` when given: the hand-filled fields (owner, SLA,
 * wave, notes) are kept, and databases no longer there stay listed as not present.
 */
export async function catalogServer(sourceUrl: string, previous?: Catalog): Promise<Catalog> {
  const admin = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-catalog' });
  let names: string[];
  let version: string;
  try {
    names = (
      await admin.query('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1')
    ).rows.map((r: { datname: string }) => r.datname);
    version = ((await admin.query('SHOW server_version')).rows[0] as { server_version: string })
      .server_version;
  } finally {
    await closeQuietly(admin);
  }
  const databases: CatalogDatabase[] = [];
  for (const name of names) {
    const measured = await catalogDatabase(urlWithDatabase(sourceUrl, name), name);
    const old = previous?.databases.find((d) => d.name === name);
    databases.push({
      applicationOwner: old?.applicationOwner ?? null,
      sla: old?.sla ?? null,
      migrationWave: old?.migrationWave ?? null,
      notes: old?.notes ?? null,
      ...measured,
    });
  }
  for (const old of previous?.databases ?? [])
    if (!names.includes(old.name)) databases.push({ ...old, present: false });
  const parts = parseConnectionUrl(sourceUrl, '--source-url');
  return {
    kind: 'dmskit-catalog',
    version: 1,
    server: { address: `${parts.host}:${parts.port}`, postgresVersion: version },
    generatedAt: new Date().toISOString(),
    databases,
  };
}

/** Reads a catalog file written before, or undefined when there is none. */
export async function readCatalog(file: string): Promise<Catalog | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const c = JSON.parse(text) as Catalog;
  return c.kind === 'dmskit-catalog' ? c : undefined;
}
