import { isSelected, nameMapping, type SelectionRule, type TransformationRule } from '@dmskit/shared';
import pg from 'pg';

/** A sequence value copied from source to target. */
export interface SequenceCopy {
  /** The target's sequence (the source's name unless transformation rules moved or renamed its table). */
  readonly schema: string;
  readonly name: string;
  readonly lastValue: string;
  readonly isCalled: boolean;
}

const SEQUENCES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, tn.nspname AS owner_schema, t.relname AS owner_table,
       a.attname AS owner_column
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  LEFT JOIN pg_class t ON t.oid = d.refobjid
  LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 1, 2`;

/**
 * Copies sequence values from source to target in one target transaction: logical replication and DMS
 * do not replicate sequences (PostgreSQL: "Logical Replication > Restrictions"; DMS: "Using a PostgreSQL
 * database as a source", limitations). In scope: sequences owned by a selected table (SERIAL, identity),
 * and sequences owned by no table in a schema that holds selected tables. Under DMS transformation rules
 * (`transformations`), a table's sequence is the one its column owns on the target, where DMS wrote the
 * table and column (`pg_get_serial_sequence`, so a sequence `dmskit schema` moved with its table is
 * found), a sequence no table owns is looked for in its schema's new name, and the sequence of a column
 * the rules leave out is not copied.
 * @throws Error naming the sequence when the target lacks it
 */
export async function copySequences(
  source: pg.Client,
  target: pg.Client,
  selection: readonly SelectionRule[],
  transformations: readonly TransformationRule[] = [],
): Promise<SequenceCopy[]> {
  const { rows } = await source.query(SEQUENCES_SQL);
  type Row = {
    schema: string;
    name: string;
    owner_schema: string | null;
    owner_table: string | null;
    owner_column: string | null;
  };
  const all = rows as Row[];
  const ownedSchemas = new Set(
    all
      .filter(
        (r) => r.owner_table && isSelected({ schema: r.owner_schema!, table: r.owner_table }, selection),
      )
      .map((r) => r.owner_schema!),
  );
  const inScope = all.filter((r) =>
    r.owner_table
      ? isSelected({ schema: r.owner_schema!, table: r.owner_table }, selection)
      : ownedSchemas.has(r.schema),
  );
  const mapping = nameMapping(transformations);
  const q = (schema: string, name: string) => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
  /** Where the sequence is on the target; undefined when its column is not migrated. */
  const targetOf = async (s: Row): Promise<{ schema: string; name: string } | undefined> => {
    if (!mapping.changesNames) return { schema: s.schema, name: s.name };
    if (!s.owner_table || !s.owner_column)
      return { schema: mapping.table({ schema: s.schema, table: '' }).schema, name: s.name };
    const owner = { schema: s.owner_schema!, table: s.owner_table };
    const column = mapping.column(owner, s.owner_column);
    if (column === undefined) return undefined;
    const table = mapping.table(owner);
    const found = await target
      .query(
        `SELECT n.nspname AS schema, c.relname AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass(pg_get_serial_sequence($1, $2))`,
        [q(table.schema, table.table), column],
      )
      .catch(() => ({ rows: [] }));
    const hit = found.rows[0] as { schema: string; name: string } | undefined;
    if (!hit)
      throw new Error(
        `sequence ${s.schema}.${s.name}: the target has no column ${table.schema}.${table.table}.${column} that owns a sequence`,
      );
    return hit;
  };
  const copies: SequenceCopy[] = [];
  for (const s of inScope) {
    const to = await targetOf(s);
    if (!to) continue;
    const v = (
      await source.query(`SELECT last_value::text AS last_value, is_called FROM ${q(s.schema, s.name)}`)
    ).rows[0] as { last_value: string; is_called: boolean };
    copies.push({ schema: to.schema, name: to.name, lastValue: v.last_value, isCalled: v.is_called });
  }
  await target.query('BEGIN');
  try {
    for (const c of copies) {
      const name = `${pg.escapeIdentifier(c.schema)}.${pg.escapeIdentifier(c.name)}`;
      const exists = await target.query('SELECT to_regclass($1) IS NOT NULL AS ok', [name]);
      if (!(exists.rows[0] as { ok: boolean }).ok)
        throw new Error(`sequence ${c.schema}.${c.name} does not exist on the target`);
      await target.query('SELECT setval($1::regclass, $2::int8, $3)', [name, c.lastValue, c.isCalled]);
    }
    await target.query('COMMIT');
  } catch (error) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return copies;
}
