import { displayName, nameMapping, type TableName, type TransformationRule } from '@dmskit/shared';
import pg from 'pg';

/** A foreign key of the source, as the target must get it after the full load. */
export interface ForeignKey {
  /** The constraint's name (kept on the target). */
  readonly name: string;
  /** The referencing table and columns, under the target's names. */
  readonly table: TableName;
  readonly columns: readonly string[];
  /** The referenced table and columns, under the target's names. */
  readonly references: TableName;
  readonly referencedColumns: readonly string[];
  /** `ON UPDATE ... ON DELETE ... MATCH ... DEFERRABLE ...`, as the source has it. */
  readonly options: string;
  /** Whether the referencing table is partitioned (PostgreSQL cannot add NOT VALID keys to those). */
  readonly partitioned: boolean;
}

const ACTIONS: Readonly<Record<string, string>> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};
const MATCH: Readonly<Record<string, string>> = { f: 'MATCH FULL', p: 'MATCH PARTIAL', s: 'MATCH SIMPLE' };

const FOREIGN_KEYS_SQL = `
SELECT con.conname AS name, n.nspname AS schema, c.relname AS table, c.relkind = 'p' AS partitioned,
       rn.nspname AS ref_schema, rc.relname AS ref_table,
       (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
       (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS ref_columns,
       con.confupdtype AS on_update, con.confdeltype AS on_delete, con.confmatchtype AS match,
       con.condeferrable AS deferrable, con.condeferred AS deferred
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
 WHERE con.contype = 'f' AND con.conparentid = 0
 ORDER BY 2, 3, 1`;

/**
 * The foreign keys among the migrated tables, under the names DMS writes (task transformation rules):
 * those whose referencing and referenced tables are both in scope (`inScope`: the selected tables and the
 * partitioned parents of selected partitions). A key whose column a rule leaves out is skipped, with the
 * reason in `skipped`. Keys a partition inherits from its parent are the parent's.
 */
export async function sourceForeignKeys(
  source: pg.Client,
  inScope: (t: TableName) => boolean,
  rules: readonly TransformationRule[],
): Promise<{ keys: ForeignKey[]; skipped: string[] }> {
  const mapping = nameMapping(rules);
  const { rows } = await source.query(FOREIGN_KEYS_SQL);
  const keys: ForeignKey[] = [];
  const skipped: string[] = [];
  type Row = {
    name: string;
    schema: string;
    table: string;
    partitioned: boolean;
    ref_schema: string;
    ref_table: string;
    columns: string[];
    ref_columns: string[];
    on_update: string;
    on_delete: string;
    match: string;
    deferrable: boolean;
    deferred: boolean;
  };
  for (const r of rows as Row[]) {
    const table = { schema: r.schema, table: r.table };
    const references = { schema: r.ref_schema, table: r.ref_table };
    if (!inScope(table)) continue;
    if (!inScope(references)) {
      skipped.push(
        `${r.name} on ${displayName(table)}: it references ${displayName(references)}, which is not migrated`,
      );
      continue;
    }
    const columns = r.columns.map((c) => mapping.column(table, c));
    const referencedColumns = r.ref_columns.map((c) => mapping.column(references, c));
    if (columns.includes(undefined) || referencedColumns.includes(undefined)) {
      skipped.push(
        `${r.name} on ${displayName(table)}: the transformation rules leave out one of its columns`,
      );
      continue;
    }
    keys.push({
      name: r.name,
      table: mapping.table(table),
      columns: columns as string[],
      references: mapping.table(references),
      referencedColumns: referencedColumns as string[],
      options: [
        MATCH[r.match] ?? '',
        `ON UPDATE ${ACTIONS[r.on_update] ?? 'NO ACTION'}`,
        `ON DELETE ${ACTIONS[r.on_delete] ?? 'NO ACTION'}`,
        r.deferrable ? `DEFERRABLE INITIALLY ${r.deferred ? 'DEFERRED' : 'IMMEDIATE'}` : '',
      ]
        .filter(Boolean)
        .join(' '),
      partitioned: r.partitioned,
    });
  }
  return { keys, skipped };
}

const q = (s: string) => pg.escapeIdentifier(s);
const qualified = (t: TableName) => `${q(t.schema)}.${q(t.table)}`;

/** `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... [NOT VALID]` of one key. */
export function foreignKeyDdl(k: ForeignKey, notValid: boolean): string {
  return `ALTER TABLE ${qualified(k.table)} ADD CONSTRAINT ${q(k.name)} FOREIGN KEY (${k.columns.map(q).join(', ')}) REFERENCES ${qualified(k.references)} (${k.referencedColumns.map(q).join(', ')}) ${k.options}${notValid ? ' NOT VALID' : ''}`;
}

/** What adding the foreign keys did. */
export interface ForeignKeysResult {
  /** Added and validated now. */
  readonly added: readonly string[];
  /** Already on the target (validated), left as they are. */
  readonly present: readonly string[];
  /** Not added: the rows break them (`key: the error`); each was removed again. */
  readonly failed: readonly string[];
}

/**
 * Adds the foreign keys to the target after the full load, each with its source name: `ADD CONSTRAINT
 * ... NOT VALID` (a short lock; writes go on), then `VALIDATE CONSTRAINT`, which reads the tables under a
 * lock that lets writes through (PostgreSQL: "ALTER TABLE", VALIDATE CONSTRAINT). A key the rows break
 * is removed again and reported, so none is left half there; a key already there and valid is skipped, one
 * left NOT VALID by an interrupted run is validated. On a partitioned table the key is added valid at once
 * (PostgreSQL cannot add a NOT VALID key there).
 */
export async function addForeignKeys(
  target: pg.Client,
  keys: readonly ForeignKey[],
): Promise<ForeignKeysResult> {
  const added: string[] = [];
  const present: string[] = [];
  const failed: string[] = [];
  for (const k of keys) {
    const label = `${k.name} on ${displayName(k.table)}`;
    const { rows } = await target.query(
      `SELECT convalidated FROM pg_constraint WHERE conname = $1 AND contype = 'f' AND conrelid = to_regclass($2)`,
      [k.name, qualified(k.table)],
    );
    const existing = rows[0] as { convalidated: boolean } | undefined;
    if (existing?.convalidated) {
      present.push(label);
      continue;
    }
    try {
      if (!existing) await target.query(foreignKeyDdl(k, !k.partitioned));
      if (!k.partitioned || existing)
        await target.query(`ALTER TABLE ${qualified(k.table)} VALIDATE CONSTRAINT ${q(k.name)}`);
      added.push(label);
    } catch (error) {
      failed.push(`${label}: ${(error as Error).message}`);
      await target
        .query(`ALTER TABLE ${qualified(k.table)} DROP CONSTRAINT IF EXISTS ${q(k.name)}`)
        .catch(() => undefined);
    }
  }
  return { added, present, failed };
}
