import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TableName } from '@dmskit/shared';
import type pg from 'pg';
import { passwordEnv, urlWithoutPassword } from '../pg/url.js';
import { ownedTempDir } from '../util/temp-dir.js';
import { findPgTool, type PgTool, runPgTool } from './pgtools.js';
import {
  isPreexisting,
  isPrimaryKeyEntry,
  PRESENT_POST_DATA_SQL,
  type PrimaryKeyRef,
  parseToc,
  postDataKey,
  type TocEntry,
  tocList,
} from './toc.js';

/** A schema-only dump of the source, restored onto the target in three steps. */
export interface SchemaDump {
  readonly file: string;
  readonly entries: readonly TocEntry[];
  readonly pgDump: PgTool;
  readonly pgRestore: PgTool;
  /** Deletes the dump's temporary folder. */
  dispose(): Promise<void>;
}

function patternName(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * `pg_dump --schema-only --format=custom` of the source, limited to the schemas that hold selected tables
 * and without the tables of those schemas that are not selected. Publications, subscriptions, owners,
 * privileges and tablespaces are left out: the target gets them from its own setup, not from the source.
 * @param selected - tables in scope; `all` - every table of the source (to find the ones to leave out)
 * @throws UsageError when no pg_dump at least as new as the source is found (naming what was found)
 * @throws ExternalError when pg_dump fails
 */
export async function dumpSchema(options: {
  sourceUrl: string;
  sourceMajor: number;
  targetMajor: number;
  selected: readonly TableName[];
  all: readonly TableName[];
  /**
   * A folder of its own for the dump (emptied first), next to a state file, so that one a killed run left
   * is replaced by the next run instead of piling up in the temporary folder. @default a new temporary one
   */
  dir?: string;
}): Promise<SchemaDump> {
  const pgDump = await findPgTool('pg_dump', options.sourceMajor);
  const pgRestore = await findPgTool('pg_restore', Math.max(options.sourceMajor, pgDump.major));
  let dir: string;
  if (options.dir) {
    dir = options.dir;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  } else dir = await ownedTempDir('schema');
  const file = path.join(dir, 'schema.dump');
  const selectedKeys = new Set(options.selected.map((t) => `${t.schema}.${t.table}`));
  const schemas = [...new Set(options.selected.map((t) => t.schema))].sort();
  const everything = options.all.every((t) => selectedKeys.has(`${t.schema}.${t.table}`));
  const scope = everything
    ? []
    : [
        ...schemas.map((s) => `--schema=${patternName(s)}`),
        ...options.all
          .filter((t) => schemas.includes(t.schema) && !selectedKeys.has(`${t.schema}.${t.table}`))
          .map((t) => `--exclude-table=${patternName(t.schema)}.${patternName(t.table)}`),
      ];
  try {
    await runPgTool(
      pgDump,
      [
        '--schema-only',
        '--format=custom',
        '--no-publications',
        '--no-subscriptions',
        '--no-security-labels',
        `--file=${file}`,
        ...scope,
        `--dbname=${urlWithoutPassword(options.sourceUrl)}`,
      ],
      passwordEnv(options.sourceUrl),
    );
    const entries = parseToc(await runPgTool(pgRestore, ['--list', file]));
    return { file, entries, pgDump, pgRestore, dispose: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function restore(
  dump: SchemaDump,
  targetUrl: string,
  entries: readonly TocEntry[],
  section: 'pre-data' | 'post-data',
  parallel?: { jobs: number; maintenanceWorkMemMb: number },
  single?: { maintenanceWorkMemMb: number; parallelWorkers?: number; name: string; signal?: AbortSignal },
): Promise<number> {
  if (entries.length === 0) return 0;
  const list = path.join(
    path.dirname(dump.file),
    `restore-${section}${single ? `-${single.name}` : ''}.list`,
  );
  await writeFile(list, tocList(entries));
  // One transaction, or several jobs (pg_restore cannot do both: "pg_restore", --jobs).
  const mode = parallel ? [`--jobs=${parallel.jobs}`, '--exit-on-error'] : ['--single-transaction'];
  const settings: Record<string, string> = parallel
    ? {
        // Each index build gets memory and parallel workers of its own ("Resource Consumption").
        PGOPTIONS: `-c maintenance_work_mem=${parallel.maintenanceWorkMemMb}MB -c max_parallel_maintenance_workers=${Math.max(1, parallel.jobs - 1)}`,
      }
    : single
      ? {
          PGOPTIONS: `-c maintenance_work_mem=${single.maintenanceWorkMemMb}MB${
            single.parallelWorkers === undefined
              ? ''
              : ` -c max_parallel_maintenance_workers=${Math.max(0, Math.floor(single.parallelWorkers))}`
          }`,
        }
      : {};
  await runPgTool(
    dump.pgRestore,
    [
      `--section=${section}`,
      '--no-owner',
      '--no-privileges',
      '--no-tablespaces',
      ...mode,
      `--use-list=${list}`,
      `--dbname=${urlWithoutPassword(targetUrl)}`,
      dump.file,
    ],
    { ...passwordEnv(targetUrl), ...settings },
    single?.signal,
  );
  return entries.length;
}

/** What the target already has, so the restore skips it. */
export async function existingObjects(
  target: pg.Client,
): Promise<{ schemas: Set<string>; extensions: Set<string> }> {
  const [s, e] = await Promise.all([
    target.query('SELECT nspname FROM pg_namespace'),
    target.query('SELECT extname FROM pg_extension'),
  ]);
  return {
    schemas: new Set(s.rows.map((r: { nspname: string }) => r.nspname)),
    extensions: new Set(e.rows.map((r: { extname: string }) => r.extname)),
  };
}

/**
 * Every primary-key constraint of the source, partitioned parents included: a partition's key index is
 * attached to its parent's, so both must be restored in the same step.
 */
export async function primaryKeys(source: pg.Client): Promise<PrimaryKeyRef[]> {
  const { rows } = await source.query(
    `SELECT n.nspname AS schema, c.relname AS table, con.conname AS constraint
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE con.contype = 'p'`,
  );
  return rows as PrimaryKeyRef[];
}

/**
 * Restores pre-data (types, functions, sequences, tables) in one transaction, without the primary keys:
 * the full load copies into bare tables, and the keys are built with the rest of post-data after it.
 * @returns the number of TOC entries restored
 */
export async function restorePreData(
  dump: SchemaDump,
  targetUrl: string,
  existing: { schemas: ReadonlySet<string>; extensions: ReadonlySet<string> },
  keys: readonly PrimaryKeyRef[],
): Promise<number> {
  const usable = dump.entries.filter((e) => !isPreexisting(e, existing) && !isPrimaryKeyEntry(e, keys));
  return restore(dump, targetUrl, usable, 'pre-data');
}

/**
 * Restores some post-data entries in one transaction (a table's indexes and keys), with the session
 * settings of {@link restorePostData}.
 */
export async function restoreTableIndexes(
  dump: SchemaDump,
  targetUrl: string,
  entries: readonly TocEntry[],
  options: { maintenanceWorkMemMb: number; parallelWorkers?: number; name: string; signal?: AbortSignal },
): Promise<number> {
  return restore(dump, targetUrl, entries, 'post-data', undefined, options);
}

/** The post-data objects the target has already (a restore a killed start left half done). */
export async function presentPostData(target: pg.Client): Promise<Set<string>> {
  const { rows } = await target.query(PRESENT_POST_DATA_SQL);
  return new Set((rows as { key: string }[]).map((r) => r.key));
}

/**
 * Restores post-data (primary keys, secondary indexes, unique and foreign keys, triggers, rules) after the
 * full load, with `jobs` pg_restore jobs that build several indexes at once, each session with its own
 * `maintenance_work_mem` (MiB) and `max_parallel_maintenance_workers`. Objects the target already has
 * (`present`, from {@link presentPostData}) are skipped, so a restore that was stopped half way continues.
 * @returns the number of TOC entries restored
 * @throws ExternalError with pg_restore's last lines when it fails (it stops at the first error)
 */
export async function restorePostData(
  dump: SchemaDump,
  targetUrl: string,
  existing: { schemas: ReadonlySet<string>; extensions: ReadonlySet<string> },
  options: {
    jobs: number;
    maintenanceWorkMemMb: number;
    present: ReadonlySet<string>;
    /** The source's post-data keys ({@link presentPostData} on it): where names with spaces end. */
    known?: ReadonlySet<string>;
  },
): Promise<number> {
  const usable = dump.entries.filter((e) => {
    if (isPreexisting(e, existing)) return false;
    const key = postDataKey(e, options.known);
    return key === undefined || !options.present.has(key);
  });
  return restore(dump, targetUrl, usable, 'post-data', options);
}

/**
 * Restores the privileges of the dump: its `ACL` entries (GRANT and REVOKE on schemas, tables, columns,
 * sequences, functions and types, as on the source) and `DEFAULT ACL` entries (`ALTER DEFAULT PRIVILEGES`),
 * in one transaction, after the roles they name exist on the target (schema/roles.ts).
 * @returns the number of entries restored
 * @throws ExternalError with pg_restore's last lines when it fails (nothing is applied then)
 */
export async function restorePrivileges(dump: SchemaDump, targetUrl: string): Promise<number> {
  const entries = dump.entries.filter((e) => /^(DEFAULT )?ACL /.test(e.body));
  if (!entries.length) return 0;
  const list = path.join(path.dirname(dump.file), 'restore-privileges.list');
  await writeFile(list, tocList(entries));
  await runPgTool(
    dump.pgRestore,
    [
      '--no-owner',
      '--single-transaction',
      '--exit-on-error',
      `--use-list=${list}`,
      `--dbname=${urlWithoutPassword(targetUrl)}`,
      dump.file,
    ],
    passwordEnv(targetUrl),
  );
  return entries.length;
}
