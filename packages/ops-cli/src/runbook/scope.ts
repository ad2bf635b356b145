import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  displayName,
  isSelected,
  locatorPattern,
  type SelectionRule,
  type TableName,
  type TransformationRule,
} from '@dmskit/shared';
import {
  type ComparisonResult,
  type ConnectionInput,
  closeQuietly,
  compareDatabases,
  diffSchemas,
  listTables,
  openConnection,
  qualifiedName,
  readSchema,
  type SchemaObjectKind,
  type TableInfo,
  tableKey,
  type Verdict,
} from '@dmskit/validation';
import pg from 'pg';
import type { CutoverEngine } from './engine.js';
import { commitWatermark, waitForWatermark } from './watermark.js';

/*
 * What the watermark cannot see, checked before the fence. The watermark proves that every change
 * published and applied before the fence is on the target; the promise, "every acknowledged write to a
 * table in scope is on the target at ready", also rests on:
 * 1. scope: every table the selection rules match on the source now is replicated (a table created
 *    during CDC is not in a publication by itself), and nothing replicated has left the scope;
 * 2. schema: the tables in scope have the same columns, types, keys, constraints, indexes and replica
 *    identity on both sides (DDL is not replicated: "Logical Replication > Restrictions");
 * 3. replica identity: a table without one replicates no UPDATE or DELETE, unless declared insert-only;
 * 4. nothing skipped: the target took no write but the apply (the native target guard), and a recent
 *    clean validation of every table in scope (an UPDATE or DELETE whose row is missing on the target is
 *    skipped by the apply without an error).
 * Each failed check is one line naming the table and what to do.
 */

/** The validation gate's record, kept in the state folder by `dmskit validate --config` and the cutover. */
export interface ValidationRecord {
  readonly version: 1;
  /** When the comparison ended (ISO). */
  readonly at: string;
  readonly by: 'validate' | 'cutover';
  /** `host:port/database` of each side. */
  readonly source: string;
  readonly target: string;
  readonly verdict: Verdict;
  readonly tables: readonly (TableName & { readonly status: string })[];
}

/** Reads and writes the validation record (a file next to the cutover's state). */
export interface ValidationRecordStore {
  load(): Promise<ValidationRecord | undefined>;
  save(record: ValidationRecord): Promise<void>;
}

/** The validation record kept in `file` (JSON), written whole through a temporary file. */
export function validationRecordFile(file: string): ValidationRecordStore {
  return {
    load: async () => {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) return undefined;
      try {
        const r = JSON.parse(text) as ValidationRecord;
        return r.version === 1 && Array.isArray(r.tables) ? r : undefined;
      } catch {
        return undefined;
      }
    },
    save: async (record) => {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
      await rename(tmp, file);
    },
  };
}

/** The record of a comparison, for {@link ValidationRecordStore}. */
export function validationRecord(
  result: ComparisonResult,
  by: ValidationRecord['by'],
  where: { source: string; target: string },
): ValidationRecord {
  return {
    version: 1,
    at: new Date().toISOString(),
    by,
    ...where,
    verdict: result.verdict,
    tables: result.tables.map((t) => ({ schema: t.table.schema, table: t.table.table, status: t.status })),
  };
}

export interface ScopeCheckOptions {
  readonly source: ConnectionInput;
  readonly target: ConnectionInput;
  /** dmskit sessions on each side (may write: the watermark of an exact re-check). */
  readonly sourceControl: pg.Client;
  readonly targetControl: pg.Client;
  readonly engine: CutoverEngine;
  readonly selection: readonly SelectionRule[];
  /** Tables accepted without a replica identity (`cutover.insertOnlyTables`). */
  readonly insertOnly: readonly { readonly schema: string; readonly table: string }[];
  /** DMS's transformation rules: the target's names differ, so the schemas are not compared one to one. */
  readonly transformations?: readonly TransformationRule[];
  /** The validation gate: the oldest record accepted, in ms; null: no gate. */
  readonly maxValidationAgeMs: number | null;
  readonly validationRecords?: ValidationRecordStore;
  /** `host:port/database` of each side, to match a record with these servers. */
  readonly where: { readonly source: string; readonly target: string };
  readonly signal?: AbortSignal;
}

/** What the scope checks found: problems block the cutover; lines say what was checked. */
export interface ScopeCheckResult {
  readonly problems: readonly string[];
  readonly lines: readonly string[];
  /** The validation the cutover ran itself, when it did. */
  readonly validation?: ComparisonResult;
}

const list = (names: readonly string[], max = 5) =>
  `${names.slice(0, max).join(', ')}${names.length > max ? ` and ${names.length - max} more` : ''}`;

/** Whether a table is declared insert-only (`cutover.insertOnlyTables`, with DMS's wildcards). */
export function isInsertOnly(
  t: TableName,
  rules: readonly { readonly schema: string; readonly table: string }[],
): boolean {
  return rules.some((r) => locatorPattern(r.schema).test(t.schema) && locatorPattern(r.table).test(t.table));
}

/**
 * 1. Scope: the tables in scope on the source now against those the engine replicates.
 * @returns one problem per kind of drift
 */
export function scopeProblems(
  inScope: readonly TableName[],
  published: readonly TableName[] | undefined,
  selection: readonly SelectionRule[],
): string[] {
  if (!published) return [];
  const pub = new Set(published.map(tableKey));
  const scope = new Set(inScope.map(tableKey));
  const missing = inScope.filter((t) => !pub.has(tableKey(t))).map(displayName);
  const gone = published
    .filter((t) => t.schema !== 'dmskit' && !scope.has(tableKey(t)) && !isSelected(t, selection))
    .map(displayName);
  const problems: string[] = [];
  if (missing.length)
    problems.push(
      `${list(missing)} ${missing.length === 1 ? 'matches' : 'match'} the selection rules but ${missing.length === 1 ? 'is' : 'are'} not replicated (created during CDC?): run dmskit scope --join to add ${missing.length === 1 ? 'it' : 'them'} with ${missing.length === 1 ? 'its' : 'their'} rows, or exclude ${missing.length === 1 ? 'it' : 'them'} in task.tableMappings`,
    );
  if (gone.length)
    problems.push(
      `${list(gone)} ${gone.length === 1 ? 'is' : 'are'} replicated but no longer in scope (renamed during CDC?): the target has no table of that name; rename it on the target too (dmskit ddl), or put it back in scope`,
    );
  return problems;
}

/** DMS's own tables (`awsdms_ddl_audit` on the source, `awsdms_apply_exceptions` on the target): not data. */
const DMS_CONTROL_TABLE = /^awsdms_/;

const COMPARED_KINDS = new Set<SchemaObjectKind>(['table', 'column', 'constraint', 'index']);

/**
 * 2. Schema: columns, types, keys, constraints and indexes of the tables in scope (validation's schema
 * diff), and each table's replica identity.
 */
export async function schemaProblems(
  source: pg.Client,
  target: pg.Client,
  inScope: readonly TableInfo[],
  /** The selection rules: a table they match on the target but not on the source is named too. */
  selection?: readonly SelectionRule[],
): Promise<string[]> {
  const scope = { tables: inScope };
  const [s, t, targetTables] = await Promise.all([
    readSchema(source, scope),
    readSchema(target, scope),
    listTables(target),
  ]);
  const problems = diffSchemas(s, t)
    .filter((d) => COMPARED_KINDS.has(d.kind))
    .map(
      (d) =>
        `${d.kind} ${d.object}: ${d.difference === 'different' ? `source ${d.source ?? '-'}, target ${d.target ?? '-'}` : d.difference}`,
    );
  // A table in scope on the target that the source no longer has (dropped or renamed during CDC).
  const sourceKeys = new Set(inScope.map(tableKey));
  for (const t of targetTables)
    if (
      selection &&
      isSelected(t, selection) &&
      !DMS_CONTROL_TABLE.test(t.table) &&
      !sourceKeys.has(tableKey(t))
    )
      problems.push(
        `table ${displayName(t)}: only on the target (dropped or renamed on the source during CDC?)`,
      );
  const byKey = new Map(targetTables.map((x) => [tableKey(x), x]));
  for (const a of inScope) {
    const b = byKey.get(tableKey(a));
    if (b && (a.replicaIdentity !== b.replicaIdentity || a.hasReplicaIdentity !== b.hasReplicaIdentity))
      problems.push(
        `replica identity of ${displayName(a)}: source ${a.replicaIdentity}, target ${b.replicaIdentity}`,
      );
  }
  return problems.length
    ? [
        `the schema in scope differs between source and target (DDL during CDC is not replicated; apply it with dmskit ddl): ${list(problems, 6)}`,
      ]
    : [];
}

// Writers the write guard cannot stop, on the source: a subscription's apply runs with
// session_replication_role = replica (ordinary triggers do not fire), and since PostgreSQL 15 a role can be
// granted SET on that parameter ("GRANT ... ON PARAMETER"). Either could write a table in scope past the
// fence. Read best-effort: an older server has no pg_parameter_acl.
const SUBSCRIBED_SQL = `
SELECT s.subname, n.nspname AS schema, c.relname AS table
  FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid
  JOIN pg_class c ON c.oid = sr.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
const REPLICA_ROLE_GRANTEES_SQL = `
SELECT DISTINCT r.rolname
  FROM pg_parameter_acl p, aclexplode(p.paracl) a JOIN pg_roles r ON r.oid = a.grantee
 WHERE p.parname = 'session_replication_role' AND a.privilege_type = 'SET' AND NOT r.rolsuper`;

/** Writers past the fence's write guard on the source: subscriptions into tables in scope, roles that may set session_replication_role. */
export async function unfenceableWriters(
  source: pg.Client,
  inScope: readonly TableName[],
): Promise<string[]> {
  const scope = new Set(inScope.map(tableKey));
  const subscribed = await source
    .query(SUBSCRIBED_SQL)
    .then((r) => (r.rows as (TableName & { subname: string })[]).filter((x) => scope.has(tableKey(x))))
    .catch(() => []);
  const grantees = await source
    .query(REPLICA_ROLE_GRANTEES_SQL)
    .then((r) => (r.rows as { rolname: string }[]).map((x) => x.rolname))
    .catch(() => []);
  const problems: string[] = [];
  if (subscribed.length)
    problems.push(
      `subscription ${[...new Set(subscribed.map((x) => x.subname))].join(', ')} on the source writes ${list(subscribed.map(displayName))}, and its apply passes every fence: disable it (ALTER SUBSCRIPTION ... DISABLE) or take those tables out of scope`,
    );
  if (grantees.length)
    problems.push(
      `role(s) ${grantees.join(', ')} may SET session_replication_role, which passes the fence's write guard: REVOKE SET ON PARAMETER session_replication_role FROM them before the cutover`,
    );
  return problems;
}

/** 3. Replica identity: tables whose UPDATE and DELETE cannot be replicated, unless declared. */
export function replicaIdentityProblems(
  inScope: readonly TableInfo[],
  insertOnly: ScopeCheckOptions['insertOnly'],
): string[] {
  const bad = inScope.filter((t) => !t.hasReplicaIdentity && !isInsertOnly(t, insertOnly)).map(displayName);
  return bad.length
    ? [
        `${list(bad)} ${bad.length === 1 ? 'has' : 'have'} no primary key or replica identity, so UPDATE and DELETE on ${bad.length === 1 ? 'it are' : 'them are'} not replicated: add a primary key or ALTER TABLE ... REPLICA IDENTITY FULL (on both sides), or declare ${bad.length === 1 ? 'it' : 'them'} in cutover.insertOnlyTables`,
      ]
    : [];
}

/**
 * An exact re-check's hold: the source table locked in SHARE mode (writes wait, reads go on; PostgreSQL
 * "Table-Level Locks") in a session of its own, then a watermark committed and waited for on the target,
 * so both sides read the table as of the same moment. Released when the comparison of the table ends.
 */
function settleOn(options: ScopeCheckOptions) {
  const tables = options.engine.watermarkTables ?? options.engine.watermarkTable;
  return async (table: TableName) => {
    const hold = await openConnection(options.source, 'source', {
      applicationName: 'dmskit-validation-hold',
    });
    try {
      await hold.query('BEGIN');
      await hold.query("SET LOCAL lock_timeout = '5s'");
      await hold.query(`LOCK TABLE ${qualifiedName(table)} IN SHARE MODE`);
      const { token } = await commitWatermark(
        options.sourceControl,
        tables,
        `exact re-check of ${displayName(table)}`,
      );
      await waitForWatermark(options.targetControl, tables, token, {
        timeoutMs: 30_000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      await hold.query('ROLLBACK').catch(() => undefined);
      await closeQuietly(hold);
      throw error;
    }
    return async () => {
      await hold.query('COMMIT').catch(() => undefined);
      await closeQuietly(hold);
    };
  };
}

/**
 * 4b. The validation gate: a recent clean record of every table in scope, else a validation run now
 * (recorded).
 */
export async function validationGate(
  options: ScopeCheckOptions,
  inScope: readonly TableName[],
): Promise<{ problems: string[]; line: string; validation?: ComparisonResult }> {
  if (options.maxValidationAgeMs === null)
    return { problems: [], line: 'validation gate off (cutover.maxValidationAgeMinutes: null)' };
  const record = await options.validationRecords?.load();
  const fresh =
    record &&
    record.source === options.where.source &&
    record.target === options.where.target &&
    Date.now() - Date.parse(record.at) <= options.maxValidationAgeMs;
  if (fresh) {
    const status = new Map(record.tables.map((t) => [tableKey(t), t.status]));
    const bad = inScope.filter(
      (t) => status.get(tableKey(t)) !== undefined && status.get(tableKey(t)) !== 'equal',
    );
    if (bad.length)
      return {
        problems: [
          `the validation of ${record.at} (${record.by}) found ${list(bad.map((t) => `${displayName(t)} ${status.get(tableKey(t))}`))}: dmskit validate names the rows; repair them, then validate again`,
        ],
        line: `validation of ${record.at}: ${record.verdict}`,
      };
    if (inScope.every((t) => status.has(tableKey(t))))
      return {
        problems: [],
        line: `a clean validation of every table in scope at ${record.at} (${record.by})`,
      };
  }
  const validation = await compareDatabases({
    source: options.source,
    target: options.target,
    selection: options.selection,
    schema: false,
    // Before the fence, a table held by a lock is not waited for: it cannot be compared, so the gate refuses.
    lockTimeoutMs: 10_000,
    ...(options.transformations?.length ? { transformations: options.transformations } : {}),
    // One look again after a moment (most lag is gone by then), then the exact re-check of what still
    // differs: each such table held still on the source until the target shows a watermark.
    recheck: { delayMs: 250, attempts: 1, settle: settleOn(options) },
  });
  await options.validationRecords?.save(validationRecord(validation, 'cutover', options.where));
  const bad = validation.tables.filter((t) => t.status !== 'equal');
  const problems = bad.length
    ? [
        `the validation before the fence found ${list(bad.map((t) => `${displayName(t.table)} ${t.status}${t.reasons[0] ? ` (${t.reasons[0]})` : ''}`))}: dmskit validate names the rows`,
      ]
    : validation.verdict !== 'equal'
      ? [`the validation before the fence is ${validation.verdict}`]
      : [];
  return {
    problems,
    line: `validated ${validation.tables.length} table(s) before the fence: ${validation.verdict}`,
    validation,
  };
}

/**
 * Every check of the promise's footing that the watermark cannot give (see the top of this file), run
 * before the fence. Changes nothing on the servers but the native target guard (put back when missing)
 * and the watermark rows of exact re-checks.
 */
export async function checkScope(
  options: ScopeCheckOptions,
  /** Only what the catalogs say (scope, schema, replica identity): replication is broken anyway. */
  catalogOnly = false,
): Promise<ScopeCheckResult> {
  // Catalog reads take locks too (pg_relation_size): none waits longer than 10 s for one.
  const restore = await Promise.all(
    [options.sourceControl, options.targetControl].map(async (c) => {
      const { rows } = await c.query("SELECT current_setting('lock_timeout') AS v");
      await c.query("SET lock_timeout = '10s'");
      return () => c.query(`SET lock_timeout = ${pg.escapeLiteral((rows[0] as { v: string }).v)}`);
    }),
  );
  try {
    return await checkScopeLocked(options, catalogOnly);
  } finally {
    for (const r of restore) await r().catch(() => undefined);
  }
}

async function checkScopeLocked(options: ScopeCheckOptions, catalogOnly: boolean): Promise<ScopeCheckResult> {
  const all = await listTables(options.sourceControl);
  const inScope = all.filter((t) => isSelected(t, options.selection) && !DMS_CONTROL_TABLE.test(t.table));
  const published = await options.engine.publishedTables?.();
  const problems = [
    ...scopeProblems(inScope, published, options.selection),
    ...(options.transformations?.length
      ? []
      : await schemaProblems(options.sourceControl, options.targetControl, inScope, options.selection)),
    ...replicaIdentityProblems(inScope, options.insertOnly),
    ...(await unfenceableWriters(options.sourceControl, inScope)),
  ];
  const lines = [
    published
      ? `${inScope.length} table(s) in scope, every one replicated`
      : `${inScope.length} table(s) in scope`,
  ];
  if (catalogOnly) return { problems, lines };
  if (options.engine.guardTarget) {
    const gaps = await options.engine.guardTarget(inScope);
    if (gaps.length)
      problems.push(
        `a write on the target's ${list(gaps)} is not refused: the target guard is missing (dmskit start puts it)`,
      );
    else lines.push('writes on the target refused but for the apply');
  }
  // A failed check already blocks: the validation (the costly part) runs only when it would decide.
  if (problems.length) return { problems, lines };
  const gate = await validationGate(options, inScope);
  lines.push(gate.line);
  return { problems: gate.problems, lines, ...(gate.validation ? { validation: gate.validation } : {}) };
}
