import {
  type DmsDataType,
  displayName,
  locatorPattern,
  nameMapping,
  type TableName,
  type TransformationRule,
  UsageError,
} from '@dmskit/shared';
import type { TableInfo } from '@dmskit/validation';
import pg from 'pg';

const q = (s: string) => pg.escapeIdentifier(s);
const qualified = (t: TableName) => `${q(t.schema)}.${q(t.table)}`;
const key = (t: TableName) => `${t.schema}\u0000${t.table}`;

/**
 * The PostgreSQL type DMS creates for one of its data types on a PostgreSQL target (DMS: "Using a
 * PostgreSQL database as a target for AWS Database Migration Service", Target data types for PostgreSQL):
 * STRING and WSTRING are VARCHAR(length) up to 21,845 and VARCHAR(65535) above, unsigned integers take
 * the next wider type, CLOB and NCLOB are TEXT, BYTES and BLOB are BYTEA.
 */
export function postgresTypeOf(t: DmsDataType): string {
  switch (t.type) {
    case 'bytes':
    case 'blob':
      return 'bytea';
    case 'date':
      return 'date';
    case 'time':
      return 'time';
    case 'datetime':
      return t.scale !== undefined && t.scale <= 6 ? `timestamp(${t.scale})` : 'timestamp';
    case 'int1':
    case 'int2':
    case 'uint1':
      return 'smallint';
    case 'int4':
    case 'uint2':
      return 'integer';
    case 'int8':
    case 'uint4':
      return 'bigint';
    case 'uint8':
      return 'numeric(20)';
    case 'numeric':
      return t.precision !== undefined
        ? `numeric(${t.precision}${t.scale !== undefined ? `,${t.scale}` : ''})`
        : 'numeric';
    case 'real4':
      return 'real';
    case 'real8':
      return 'double precision';
    case 'string':
    case 'wstring':
      return t.length === undefined
        ? 'varchar'
        : t.length <= 21_845
          ? `varchar(${t.length})`
          : 'varchar(65535)';
    case 'clob':
    case 'nclob':
      return 'text';
    case 'boolean':
      return 'boolean';
  }
}

/** The DDL that gives a copied schema the names and columns DMS writes, and what it did in words. */
export interface TransformationDdl {
  /** Statements in order: column changes, table renames, then moves to other schemas. */
  readonly statements: readonly string[];
  /** One line per change, for the command's output. */
  readonly changes: readonly string[];
}

/**
 * The statements that turn the source's schema, restored on the target, into the tables DMS writes
 * under `rules` (DMS: "Transformation rules and actions"): columns removed (`remove-column`, and the
 * columns a table's `include-column` rules leave out), retyped (`change-data-type`), added (`add-column`,
 * NULL-able: DMS fills them), renamed; a primary key defined on a table without one
 * (`define-primary-key`); tables renamed; tables moved to their schema (created when missing) with
 * `ALTER TABLE ... SET SCHEMA`, which takes their indexes, constraints and owned sequences along, and the
 * sequences no table owns with the schema they were in. PostgreSQL keeps every dependent object in step:
 * indexes, constraints and views refer to columns and tables by number, not by name. Column changes of a
 * partition go to its parent (PostgreSQL changes a partitioned table's columns on the parent only). Data
 * masking keeps names and types, so it needs no DDL.
 * @param tables - the selected source tables (source names), with their columns
 * @param sequences - sequences owned by no table, in the schemas of `tables`
 * @throws UsageError when two tables would get the same name, a rule names a column the table lacks, or
 *   define-primary-key targets a table that has a primary key
 */
export function transformationDdl(
  tables: readonly TableInfo[],
  rules: readonly TransformationRule[],
  sequences: readonly TableName[] = [],
): TransformationDdl {
  const mapping = nameMapping(rules);
  const statements: string[] = [];
  const changes: string[] = [];
  const matches = (pattern: string | undefined, name: string) => locatorPattern(pattern ?? '%').test(name);
  const targets = new Map<string, TableName>();
  for (const t of tables) {
    const to = mapping.table(t);
    const other = targets.get(key(to));
    if (other)
      throw new UsageError(
        `task.transformations: ${displayName(other)} and ${displayName(t)} would both be written to ${displayName(to)}`,
      );
    targets.set(key(to), t);
  }

  // Columns, on the table that owns them: a partition's columns are its parent's.
  const columnOwners = new Map<string, { owner: TableName; table: TableInfo }>();
  for (const t of tables) {
    const owner = t.partitionOf ?? t;
    if (!columnOwners.has(key(owner))) columnOwners.set(key(owner), { owner, table: t });
  }
  for (const { owner, table } of columnOwners.values()) {
    const forTable = rules.filter(
      (r) => r.target === 'column' && matches(r.schema, table.schema) && matches(r.table, table.table),
    );
    const ownRules = rules.filter(
      (r) => r.target === 'table' && matches(r.schema, table.schema) && matches(r.table, table.table),
    );
    const name = qualified(owner);
    const kept: string[] = [];
    for (const c of table.columns) {
      if (mapping.column(table, c.name) === undefined) {
        statements.push(`ALTER TABLE ${name} DROP COLUMN ${q(c.name)}`);
        changes.push(`${displayName(owner)}: column ${c.name} removed`);
      } else kept.push(c.name);
    }
    for (const r of forTable) {
      if (r.action === 'change-data-type' && r.dataType) {
        const hits = table.columns.filter((c) => matches(r.column, c.name) && kept.includes(c.name));
        if (hits.length === 0)
          throw new UsageError(
            `task.transformations: change-data-type names column ${r.column} that ${displayName(table)} does not have`,
          );
        const type = postgresTypeOf(r.dataType);
        for (const c of hits) {
          statements.push(
            `ALTER TABLE ${name} ALTER COLUMN ${q(c.name)} TYPE ${type} USING ${q(c.name)}::${type}`,
          );
          changes.push(`${displayName(owner)}: column ${c.name} is ${type}`);
        }
      }
    }
    for (const r of [...forTable, ...ownRules]) {
      if (r.action === 'add-column' && r.value && r.dataType) {
        const type = postgresTypeOf(r.dataType);
        statements.push(`ALTER TABLE ${name} ADD COLUMN ${q(r.value)} ${type}`);
        changes.push(`${displayName(owner)}: column ${r.value} ${type} added`);
      }
      if (r.action === 'define-primary-key' && r.primaryKey) {
        if (table.primaryKey.length)
          throw new UsageError(
            `task.transformations: define-primary-key on ${displayName(table)}, which has a primary key (${table.primaryKey.join(', ')})`,
          );
        const cols = r.primaryKey.columns.map((c) => q(mapping.column(table, c) ?? c)).join(', ');
        statements.push(`ALTER TABLE ${name} ADD CONSTRAINT ${q(r.primaryKey.name)} PRIMARY KEY (${cols})`);
        changes.push(
          `${displayName(owner)}: primary key ${r.primaryKey.name} (${r.primaryKey.columns.join(', ')})`,
        );
      }
    }
    for (const c of kept) {
      const to = mapping.column(table, c)!;
      if (to !== c) {
        statements.push(`ALTER TABLE ${name} RENAME COLUMN ${q(c)} TO ${q(to)}`);
        changes.push(`${displayName(owner)}: column ${c} renamed ${to}`);
      }
    }
  }

  // Tables: their new name in their own schema first, then to their schema.
  const moves: { from: TableName; to: TableName }[] = [];
  for (const t of tables) {
    const to = mapping.table(t);
    if (to.table !== t.table) {
      statements.push(`ALTER TABLE ${qualified(t)} RENAME TO ${q(to.table)}`);
      changes.push(`${displayName(t)} renamed ${to.table}`);
    }
    if (to.schema !== t.schema) moves.push({ from: { schema: t.schema, table: to.table }, to });
  }
  const schemaOf = (s: string) => mapping.table({ schema: s, table: '' }).schema;
  const newSchemas = [
    ...new Set([
      ...moves.map((m) => m.to.schema),
      ...sequences.map((s) => schemaOf(s.schema)).filter((s, i) => s !== sequences[i]!.schema),
    ]),
  ].sort();
  for (const s of newSchemas) statements.push(`CREATE SCHEMA IF NOT EXISTS ${q(s)}`);
  for (const m of moves) {
    statements.push(`ALTER TABLE ${qualified(m.from)} SET SCHEMA ${q(m.to.schema)}`);
    changes.push(`${displayName(m.from)} moved to schema ${m.to.schema}`);
  }
  for (const s of sequences) {
    const to = schemaOf(s.schema);
    if (to === s.schema) continue;
    statements.push(`ALTER SEQUENCE ${qualified(s)} SET SCHEMA ${q(to)}`);
    changes.push(`sequence ${displayName(s)} moved to schema ${to}`);
  }
  return { statements, changes };
}
