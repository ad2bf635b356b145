import type pg from 'pg';
import type { KeyIndex } from '../schema/key-index.js';
import { keyIndexKey } from '../schema/key-index.js';
import { postDataKey, type TocEntry } from '../schema/toc.js';
import type { BuildUnit } from './indexes.js';

/** A foreign key built during the load: added `NOT VALID`, then validated. */
export interface LoadForeignKey {
  /** The referencing table's schema and name, and the constraint's name. */
  readonly schema: string;
  readonly table: string;
  readonly name: string;
  /** `ALTER TABLE ONLY ... ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID`, every name qualified. */
  readonly addSql: string;
  /** `ALTER TABLE ... VALIDATE CONSTRAINT ...`; absent for a key the source itself has `NOT VALID`. */
  readonly validateSql?: string;
  /** `ALTER TABLE ... DROP CONSTRAINT IF EXISTS ...`. */
  readonly dropSql: string;
}

/** What one build does. */
export type BuildStep =
  /** pg_restore of one post-data entry: an index, or a constraint that builds its own (exclusion...). */
  | { readonly kind: 'entry'; readonly entry: TocEntry }
  /** `CREATE UNIQUE INDEX` of a primary key or unique constraint (schema/key-index.ts). */
  | { readonly kind: 'key-index'; readonly key: KeyIndex }
  /** `ADD CONSTRAINT ... USING INDEX` on that index. */
  | { readonly kind: 'key-attach'; readonly key: KeyIndex }
  | { readonly kind: 'fk-add'; readonly fk: LoadForeignKey }
  | { readonly kind: 'fk-validate'; readonly fk: LoadForeignKey };

/**
 * Expected µs of one core per row of an index build, by access method, measured on bench:fullload's
 * data (PostgreSQL 15, BENCHMARKS.md, session 15): b-tree 0.3-0.7 on integers, timestamps and uuids
 * (1.7 on a text expression), GIN 5.3-5.7 (a jsonb document, a tsvector), GiST 11.7 (a tstzrange).
 * Only the order matters: the costliest builds start first.
 */
const MICROS_PER_ROW: Readonly<Record<string, number>> = {
  btree: 0.4,
  hash: 0.6,
  brin: 0.05,
  gin: 5.5,
  gist: 12,
  spgist: 4,
};
/**
 * Operator classes whose builds cost far more per row than their access method's usual, measured on
 * bench:fullload's `kinds` variant (BENCHMARKS.md, session 17): SP-GiST over ranges (a quad tree of
 * overlapping ranges) 44-57 µs per tstzrange row, GIN over trigrams (pg_trgm) 14-16 µs per row of about
 * 50 characters. Keyed by `method:opclass` of the first key column.
 */
const OPCLASS_MICROS_PER_ROW: Readonly<Record<string, number>> = {
  'spgist:range_ops': 50,
  'gin:gin_trgm_ops': 15,
  'gist:gist_trgm_ops': 20,
};
/** Any other access method (an extension's). */
const OTHER_MICROS_PER_ROW = 4;
/** µs per byte of heap read by any build. */
const MICROS_PER_BYTE = 0.001;

/**
 * µs of the longest index build that waits for each table's rows (`schema.table`), from the units'
 * expected costs: what planCopy (fullload/plan.ts) weighs a table's copy with.
 */
export function buildTailMicros(units: readonly BuildUnit<unknown>[]): Map<string, number> {
  const tails = new Map<string, number>();
  for (const u of units)
    if (u.memory && u.cost < Number.MAX_SAFE_INTEGER)
      for (const t of u.tables) tails.set(t, Math.max(tails.get(t) ?? 0, u.cost));
  return tails;
}

/** One index of the source as its build's cost needs it. */
interface IndexFacts {
  key: string;
  table: string;
  method: string;
  /** The operator class of the first key column (`pg_opclass.opcname`); absent when unknown. */
  opclass?: string;
  rows: number;
  bytes: number;
  columns: number;
  expression: boolean;
  partial: boolean;
  collatable: boolean;
}

/**
 * The expected cost of building an index (µs of one core, roughly): rows times the access method's cost
 * per row (more for text keys, which sort by collation, for expressions, for more columns; less for a
 * partial index, which still reads every row), plus the heap it reads.
 */
export function indexBuildCost(f: Omit<IndexFacts, 'key' | 'table'>): number {
  let perRow =
    OPCLASS_MICROS_PER_ROW[`${f.method}:${f.opclass}`] ?? MICROS_PER_ROW[f.method] ?? OTHER_MICROS_PER_ROW;
  if (f.method === 'btree' || f.method === 'hash') {
    perRow *= 1 + 0.3 * Math.max(0, f.columns - 1);
    if (f.collatable) perRow *= 2.5;
  }
  if (f.expression) perRow *= 1.5;
  if (f.partial) perRow *= 0.5;
  return Math.max(0, f.rows) * perRow + f.bytes * MICROS_PER_BYTE;
}

const INDEX_FACTS_SQL = `
SELECT 'INDEX ' || n.nspname || ' ' || i.relname AS key, i.oid::int8 AS index_oid,
       n.nspname || '.' || t.relname AS table, n.nspname AS schema_name, t.relname AS table_name, am.amname AS method,
       (SELECT opc.opcname FROM pg_opclass opc WHERE opc.oid = x.indclass[0]) AS opclass,
       greatest(t.reltuples, 0)::float8 AS rows, pg_relation_size(t.oid)::float8 AS bytes,
       x.indnkeyatts AS columns, x.indexprs IS NOT NULL AS expression, x.indpred IS NOT NULL AS partial,
       EXISTS (SELECT 1 FROM unnest(x.indcollation) c WHERE c <> 0) AS collatable,
       x.indisreplident OR x.indisclustered AS alters_table,
       con.conname AS constraint_name
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = i.relam
  LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = t.oid AND con.contype IN ('p', 'u', 'x')
 WHERE t.relkind = 'r'`;

const FOREIGN_KEYS_SQL = `SET LOCAL search_path = '';
SELECT 'FK CONSTRAINT ' || n.nspname || ' ' || t.relname || ' ' || con.conname AS key, con.conname AS name,
       n.nspname || '.' || t.relname AS table, rn.nspname || '.' || r.relname AS referenced,
       n.nspname AS schema_name, t.relname AS table_name,
       con.conindid::int8 AS index_oid, con.convalidated AS validated,
       greatest(t.reltuples, 0)::float8 + greatest(r.reltuples, 0)::float8 AS rows,
       format('ALTER TABLE ONLY %s ADD CONSTRAINT %I %s%s', con.conrelid::regclass, con.conname,
              pg_catalog.pg_get_constraintdef(con.oid), CASE WHEN con.convalidated THEN ' NOT VALID' END) AS add_sql,
       format('ALTER TABLE %s VALIDATE CONSTRAINT %I', con.conrelid::regclass, con.conname) AS validate_sql,
       format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', con.conrelid::regclass, con.conname) AS drop_sql
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class t ON t.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_catalog.pg_class r ON r.oid = con.confrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
 WHERE con.contype = 'f' AND t.relkind = 'r' AND r.relkind = 'r' AND con.conparentid = 0`;

/**
 * The builds of the full load, from the schema dump's post-data entries and the source's catalog: for
 * each copied ordinary table, its indexes (one unit each), its primary key and unique constraints
 * (`keys`: the index, then the constraint on it), its other index-backed constraints (exclusion,
 * deferrable unique: pg_restore's `ADD CONSTRAINT`), and each foreign key between two copied ordinary
 * tables: added `NOT VALID` once the referenced key is built, then validated (PostgreSQL: "ALTER TABLE",
 * `NOT VALID`, `VALIDATE CONSTRAINT`). Each unit carries the locks its statement takes (fullload/locks.ts)
 * and its expected cost ({@link indexBuildCost}). Everything else of post-data (triggers, rules,
 * partitioned tables' indexes and keys, foreign keys of or to partitioned tables) is left to the restore
 * after the copy.
 * @param tables - the copied tables, `schema.table`
 * @param keys - the keys built in two steps ({@link keyIndexes}), by {@link keyIndexKey}
 * @param known - the source's post-data keys (schema/copy.ts presentPostData), to read TOC names
 */
export async function loadBuildUnits(
  entries: readonly TocEntry[],
  source: pg.Client,
  tables: ReadonlySet<string>,
  keys: ReadonlyMap<string, KeyIndex>,
  known: ReadonlySet<string>,
): Promise<BuildUnit<BuildStep>[]> {
  type IndexRow = IndexFacts & {
    index_oid: string;
    schema_name: string;
    table_name: string;
    alters_table: boolean;
    constraint_name: string | null;
  };
  const indexRows = (await source.query(INDEX_FACTS_SQL)).rows as IndexRow[];
  const facts = new Map<string, IndexRow>();
  for (const r of indexRows) {
    facts.set(r.key, r);
    if (r.constraint_name)
      facts.set(
        keyIndexKey({ schema: r.schema_name, table: r.table_name, constraint: r.constraint_name }),
        r,
      );
  }
  const units: BuildUnit<BuildStep>[] = [];
  // The unit after which an index (by oid) is there for a foreign key to reference.
  const unitOfIndex = new Map<string, string>();
  for (const entry of entries) {
    if (!/^(INDEX|CONSTRAINT) /.test(entry.body) || entry.body.startsWith('INDEX ATTACH ')) continue;
    const id = postDataKey(entry, known);
    const f = facts.get(id ?? '');
    if (!id || !f || !tables.has(f.table)) continue;
    const cost = indexBuildCost(f);
    const key = keys.get(id);
    if (key) {
      units.push({
        id: `${id} (index)`,
        tables: [f.table],
        locks: [{ table: f.table, mode: 'SHARE' }],
        after: [],
        cost,
        memory: true,
        payload: { kind: 'key-index', key },
      });
      units.push({
        id,
        tables: [f.table],
        locks: [{ table: f.table, mode: 'ACCESS EXCLUSIVE' }],
        after: [`${id} (index)`],
        // Small, but it holds back every other build of its table: done as soon as the table is free.
        cost: Number.MAX_SAFE_INTEGER,
        memory: false,
        payload: { kind: 'key-attach', key },
      });
    } else {
      // pg_dump puts `ALTER TABLE ... REPLICA IDENTITY USING INDEX` and `CLUSTER ON` in the index's entry:
      // those take stronger locks than the build, and must not wait on (or deadlock with) its siblings.
      const exclusive = entry.body.startsWith('CONSTRAINT ') || f.alters_table;
      units.push({
        id,
        tables: [f.table],
        locks: [{ table: f.table, mode: exclusive ? 'ACCESS EXCLUSIVE' : 'SHARE' }],
        after: [],
        cost,
        memory: true,
        payload: { kind: 'entry', entry },
      });
    }
    unitOfIndex.set(f.index_oid, id);
  }

  type ForeignKeyRow = {
    key: string;
    name: string;
    table: string;
    referenced: string;
    schema_name: string;
    table_name: string;
    index_oid: string;
    validated: boolean;
    rows: number;
    add_sql: string;
    validate_sql: string;
    drop_sql: string;
  };
  const results = (await source.query(FOREIGN_KEYS_SQL)) as unknown as pg.QueryResult[];
  const dumped = new Set(entries.map((e) => postDataKey(e, known)));
  for (const r of (results.at(-1)?.rows ?? []) as ForeignKeyRow[]) {
    const referencedBy = unitOfIndex.get(r.index_oid);
    if (!dumped.has(r.key) || !tables.has(r.table) || !tables.has(r.referenced) || !referencedBy) continue;
    const fk: LoadForeignKey = {
      schema: r.schema_name,
      table: r.table_name,
      name: r.name,
      addSql: r.add_sql,
      dropSql: r.drop_sql,
      ...(r.validated ? { validateSql: r.validate_sql } : {}),
    };
    const both = [...new Set([r.table, r.referenced])];
    units.push({
      id: `${r.key} (not valid)`,
      tables: both,
      locks: both.map((table) => ({ table, mode: 'SHARE ROW EXCLUSIVE' as const })),
      after: [referencedBy],
      cost: 1,
      memory: false,
      payload: { kind: 'fk-add', fk },
    });
    if (fk.validateSql)
      units.push({
        id: r.key,
        tables: both,
        locks: [
          { table: r.table, mode: 'SHARE UPDATE EXCLUSIVE' },
          ...(r.referenced === r.table ? [] : [{ table: r.referenced, mode: 'ROW SHARE' as const }]),
        ],
        after: [`${r.key} (not valid)`],
        cost: r.rows * (MICROS_PER_ROW.btree ?? 0.4),
        memory: false,
        payload: { kind: 'fk-validate', fk },
      });
  }
  return units;
}
