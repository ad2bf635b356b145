import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  displayName,
  ExternalError,
  type MigrationConfig,
  nameMapping,
  selectTables,
  type TableName,
  UsageError,
} from '@dmskit/shared';
import { describeConnection, listTables } from '@dmskit/validation';
import type pg from 'pg';
import { passwordEnv, urlWithoutPassword } from '../pg/url.js';
import { serverFacts } from '../rehearsal/checks.js';
import { dumpSchema, existingObjects } from './copy.js';
import { addForeignKeys, type ForeignKeysResult, sourceForeignKeys } from './foreign-keys.js';
import { type PgTool, runPgTool } from './pgtools.js';
import { isPreexisting, tocList } from './toc.js';
import { transformationDdl } from './transform-ddl.js';

/** What `dmskit schema` did, or would do with `dryRun`. */
export interface DmsSchemaCopy {
  /** `created`; `present` when every table is already on the target (nothing done); `planned` on a dry run. */
  readonly status: 'created' | 'present' | 'planned';
  /** The selected source tables. */
  readonly tables: number;
  /** pg_dump TOC entries restored (types, tables, keys, indexes, constraints, triggers...). */
  readonly objects: number;
  /** The transformation DDL run after the restore, in the same transaction. */
  readonly statements: readonly string[];
  /** One line per transformation applied. */
  readonly changes: readonly string[];
  /** The pg_dump used, with its version. */
  readonly pgDump?: string;
  /**
   * Foreign keys left for after the full load (`dmskit schema --foreign-keys`): DMS truncates or drops
   * the tables it loads, which PostgreSQL refuses for a table a foreign key references.
   */
  readonly deferredForeignKeys: number;
}

const FREE_SEQUENCES_SQL = `
SELECT n.nspname AS schema, c.relname AS table
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND n.nspname = ANY($1::text[])
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
 ORDER BY 1, 2`;

/**
 * Creates on the target the schema of the tables a DMS task migrates, as DMS will write them: a
 * `pg_dump --schema-only` of the selected tables (types, tables with their primary keys, indexes,
 * constraints, triggers; foreign keys wait for {@link addDmsForeignKeys} after the full load, since DMS
 * truncates the tables it loads), then the DDL of the task's transformation rules ({@link transformationDdl}), all
 * in one transaction (`psql --single-transaction`, the psql next to the pg_restore used), so a failure
 * leaves the target as it was. DMS then loads into these tables (TargetTablePrepMode
 * TRUNCATE_BEFORE_LOAD) with `session_replication_role = replica`, so foreign keys and triggers do not
 * fire during the full load and CDC (the target endpoint's after-connect script).
 * @returns `present` without touching anything when every table is already there
 * @throws UsageError when no table is selected, when the target has some of the tables but not all
 *   (naming them), or on a transformation rule that cannot apply
 * @throws ExternalError with psql's or pg_dump's last lines when they fail
 */
export async function copyDmsSchema(options: {
  config: MigrationConfig;
  sourceUrl: string;
  targetUrl: string;
  source: pg.Client;
  target: pg.Client;
  dryRun?: boolean;
}): Promise<DmsSchemaCopy> {
  const { config, source, target } = options;
  const all = await listTables(source);
  const tables = selectTables(all, config.task.tableMappings);
  if (tables.length === 0)
    throw new UsageError(`no table of the source matches task.tableMappings of ${config.name}`);
  const schemas = [...new Set(tables.map((t) => t.schema))];
  const free = (await source.query(FREE_SEQUENCES_SQL, [schemas])).rows as TableName[];
  const ddl = transformationDdl(tables, config.task.transformations, free);
  const mapping = nameMapping(config.task.transformations);
  const wanted = tables.map((t) => mapping.table(t));
  const { rows } = await target.query(
    `SELECT s, t FROM unnest($1::text[], $2::text[]) AS x(s, t)
      WHERE EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = x.s AND c.relname = x.t AND c.relkind IN ('r', 'p'))`,
    [wanted.map((t) => t.schema), wanted.map((t) => t.table)],
  );
  const present = (rows as { s: string; t: string }[]).map((r) => ({ schema: r.s, table: r.t }));
  if (present.length === wanted.length)
    return {
      status: 'present',
      tables: tables.length,
      objects: 0,
      statements: [],
      changes: [],
      deferredForeignKeys: 0,
    };
  if (present.length > 0)
    throw new UsageError(
      `the target already has ${present.length} of the ${wanted.length} tables (${present
        .slice(0, 5)
        .map(displayName)
        .join(
          ', ',
        )}${present.length > 5 ? ', ...' : ''}): dmskit schema creates them all at once on a target that has none; drop those, or create the rest by hand`,
    );
  const [sourceFacts, targetFacts] = await Promise.all([serverFacts(source), serverFacts(target)]);
  const dump = await dumpSchema({
    sourceUrl: options.sourceUrl,
    sourceMajor: sourceFacts.major,
    targetMajor: targetFacts.major,
    selected: tables,
    all,
  });
  try {
    const existing = await existingObjects(target);
    // Foreign keys wait for the full load (DMS: "Using a PostgreSQL database as a target": DROP and
    // TRUNCATE fail on tables foreign keys reference, even with session_replication_role = replica).
    const isForeignKey = (e: { body: string }) => e.body.startsWith('FK CONSTRAINT ');
    const deferredForeignKeys = dump.entries.filter(isForeignKey).length;
    const entries = dump.entries.filter((e) => !isPreexisting(e, existing) && !isForeignKey(e));
    const what = {
      tables: tables.length,
      objects: entries.length,
      statements: ddl.statements,
      changes: ddl.changes,
      pgDump: `${dump.pgDump.path} (${dump.pgDump.version})`,
      deferredForeignKeys,
    };
    if (options.dryRun) return { status: 'planned', ...what };
    const dir = path.dirname(dump.file);
    const list = path.join(dir, 'schema.list');
    const sql = path.join(dir, 'schema.sql');
    await writeFile(list, tocList(entries));
    await runPgTool(dump.pgRestore, [
      '--no-owner',
      '--no-privileges',
      '--no-tablespaces',
      `--use-list=${list}`,
      `--file=${sql}`,
      dump.file,
    ]);
    if (ddl.statements.length)
      await appendFile(
        sql,
        `\n-- dmskit: the task's transformation rules\n${ddl.statements.map((s) => `${s};\n`).join('')}`,
      );
    const psql: PgTool = { ...dump.pgRestore, path: path.join(path.dirname(dump.pgRestore.path), 'psql') };
    try {
      await runPgTool(
        psql,
        [
          '--no-psqlrc',
          '--quiet',
          '--set=ON_ERROR_STOP=1',
          '--single-transaction',
          `--file=${sql}`,
          `--dbname=${urlWithoutPassword(options.targetUrl)}`,
        ],
        passwordEnv(options.targetUrl),
      );
    } catch (error) {
      // psql names the line of its temporary script; the statement's error is what the operator needs.
      const message = (error as Error).message.replace(/^psql failed: /, '').replace(/psql:[^ ]*:\d+: /g, '');
      throw new ExternalError(
        `the schema copy to ${describeConnection(options.targetUrl)} failed and was rolled back (nothing applied): ${message}`,
      );
    }
    return { status: 'created', ...what };
  } finally {
    await dump.dispose();
  }
}

/**
 * After the full load: the source's foreign keys among the migrated tables, under the names DMS wrote
 * ({@link sourceForeignKeys}), added to the target and validated ({@link addForeignKeys}).
 */
export async function addDmsForeignKeys(options: {
  config: MigrationConfig;
  source: pg.Client;
  target: pg.Client;
}): Promise<ForeignKeysResult & { skipped: readonly string[] }> {
  const tables = selectTables(await listTables(options.source), options.config.task.tableMappings);
  const inScope = new Set<string>();
  for (const t of tables) {
    inScope.add(`${t.schema}\u0000${t.table}`);
    if (t.partitionOf) inScope.add(`${t.partitionOf.schema}\u0000${t.partitionOf.table}`);
  }
  const { keys, skipped } = await sourceForeignKeys(
    options.source,
    (t) => inScope.has(`${t.schema}\u0000${t.table}`),
    options.config.task.transformations,
  );
  return { ...(await addForeignKeys(options.target, keys)), skipped };
}
