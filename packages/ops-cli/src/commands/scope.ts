import { displayName, isSelected, nativeObjectNames, type TableName, UsageError } from '@dmskit/shared';
import { closeQuietly, listTables, openConnection, type TableInfo, tableKey } from '@dmskit/validation';
import type pg from 'pg';
import { applyDdl } from '../native/ddl.js';
import { type CapturedDdl, capturedDdl } from '../native/ddl-capture.js';
import { nativeCutoverEngine } from '../native/engine.js';
import { joinTables } from '../native/scope-join.js';
import { targetGuardGaps } from '../native/target-guard.js';
import type { CommandOutcome } from '../outcome.js';
import { lockMigration } from '../runbook/lock.js';
import {
  replicaIdentityProblems,
  schemaProblems,
  scopeProblems,
  unfenceableWriters,
} from '../runbook/scope.js';
import { formatDuration } from '../ui/format.js';
import { loadConfigOption } from './config.js';
import { sourceUrlOf, statePaths, targetUrlOf } from './context.js';
import { withInterrupts } from './interrupts.js';
import { startStateStore } from './native.js';

export interface ScopeCommandOptions {
  readonly cwd: string;
  readonly config: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly stateDir?: string;
  readonly json?: boolean;
}

/** What the catalogs of both servers say about the migration's scope, read now. */
export interface ScopeReport {
  /** Tables the selection rules match on the source now. */
  readonly inScope: readonly TableName[];
  /** Of those, the ones not replicated (created during CDC). */
  readonly notReplicated: readonly TableName[];
  /** One line per problem that would stop the cutover (scope, schema, replica identity, target guard). */
  readonly problems: readonly string[];
  /** DDL captured on the source since the start (null: the capture is off), newest last. */
  readonly ddl: readonly CapturedDdl[] | null;
}

/**
 * Reads the scope of a native migration on both servers: the tables in scope against the publications,
 * the schema of each side, replica identities, the target guard and the captured DDL. Changes nothing.
 */
export async function readScope(
  source: pg.Client,
  target: pg.Client,
  config: Awaited<ReturnType<typeof loadConfigOption>>['config'],
): Promise<ScopeReport & { inScopeInfo: readonly TableInfo[] }> {
  const names = nativeObjectNames(config);
  const engine = nativeCutoverEngine(source, target, names);
  const all = await listTables(source);
  const inScope = all.filter((t) => isSelected(t, config.task.tableMappings));
  const published = await engine.publishedTables!();
  const pub = new Set(published.map(tableKey));
  const gaps = await targetGuardGaps(
    target,
    names.targetGuard,
    inScope.filter((t) => pub.has(tableKey(t))),
  );
  const problems = [
    ...scopeProblems(inScope, published, config.task.tableMappings),
    ...(await schemaProblems(source, target, inScope, config.task.tableMappings)),
    ...replicaIdentityProblems(inScope, config.cutover.insertOnlyTables),
    ...(await unfenceableWriters(source, inScope)),
    ...(gaps.length
      ? [`writes on the target's ${gaps.slice(0, 5).join(', ')} are not refused (no target guard)`]
      : []),
  ];
  return {
    inScope: inScope.map((t) => ({ schema: t.schema, table: t.table })),
    inScopeInfo: inScope,
    notReplicated: inScope
      .filter((t) => !pub.has(tableKey(t)))
      .map((t) => ({ schema: t.schema, table: t.table })),
    problems,
    ddl: await capturedDdl(source, names.ddlLog),
  };
}

/**
 * One line per captured DDL statement: the objects one statement touched (a table, its sequence, its
 * index, a GRANT) are recorded one by one, and shown together.
 */
export function ddlLines(ddl: readonly CapturedDdl[] | null): string[] {
  if (ddl === null) return ['DDL capture: off (the start had no superuser, or the migration predates it)'];
  if (!ddl.length) return ['DDL captured on the source since the start: none'];
  const statements: CapturedDdl[][] = [];
  for (const d of ddl) {
    const last = statements.at(-1);
    const prev = last?.[0];
    if (
      prev &&
      prev.query === d.query &&
      prev.user === d.user &&
      prev.applied === d.applied &&
      Date.parse(d.at) - Date.parse(prev.at) < 1000
    )
      last.push(d);
    else statements.push([d]);
  }
  return [
    `DDL captured on the source since the start: ${statements.length} statement(s)`,
    ...statements.map((group) => {
      const d = group.find((x) => /TABLE/.test(x.tag)) ?? group[0]!;
      const more = group.length > 1 ? ` (+${group.length - 1} object(s))` : '';
      return `  ${d.at} ${d.tag}${d.object ? ` ${d.object}` : ''}${more} by ${d.user}${d.applied === 'both' ? ' (dmskit ddl: on both sides)' : ' (source only)'}: ${d.query.replace(/\s+/g, ' ').slice(0, 160)}`;
    }),
  ];
}

/** The config and a control session on each server, for commands that read both. */
export async function sessions(o: ScopeCommandOptions) {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const targetUrl = targetUrlOf(o.targetUrl);
  const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
  let target: pg.Client | undefined;
  try {
    await source.query('SET default_transaction_read_only = off');
    target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
  } catch (error) {
    await closeQuietly(source);
    throw error;
  }
  return { config, sourceUrl, targetUrl, source, target };
}

/**
 * `dmskit scope [--join]`: the tables in scope on the source now against what the native engine
 * replicates, the schema of both sides, the captured DDL; with `--join`, tables that entered the scope
 * during CDC are added to replication with their rows (native/scope-join.ts).
 * @returns exit code 0 when nothing stops a cutover, 1 when something does; with `--join`, 0 once every
 *   table in scope is replicated (what else would stop a cutover is printed)
 */
export async function scope(o: ScopeCommandOptions & { join?: boolean }): Promise<CommandOutcome> {
  const s = await sessions(o);
  try {
    let report = await readScope(s.source, s.target, s.config);
    const lines: string[] = [];
    if (o.join && report.notReplicated.length) {
      const names = nativeObjectNames(s.config);
      const keys = new Set(report.notReplicated.map(tableKey));
      const joined = await withInterrupts(
        (signal) =>
          joinTables({
            source: s.source,
            target: s.target,
            tables: report.inScopeInfo.filter((t) => keys.has(tableKey(t))),
            names,
            signal,
          }),
        {
          what: 'joining was stopped; the tables stay published',
          leftBehind: () => 'run dmskit scope --join again',
        },
      );
      for (const t of joined.joined)
        lines.push(`joined ${displayName(t)}: ${t.rows} row(s) copied, changes replicated from now on`);
      report = await readScope(s.source, s.target, s.config);
    }
    const { inScopeInfo: _info, ...printable } = report;
    if (o.json) process.stdout.write(`${JSON.stringify(printable, null, 2)}\n`);
    else
      process.stdout.write(
        `${[
          ...lines,
          `${report.inScope.length} table(s) in scope on the source; ${report.notReplicated.length ? `not replicated: ${report.notReplicated.map(displayName).join(', ')} (dmskit scope --join)` : 'every one replicated'}`,
          ...report.problems.map((p) => `${o.join ? 'still stopping a cutover' : 'problem'}: ${p}`),
          ...ddlLines(report.ddl),
        ].join('\n')}\n`,
      );
    // A check exits 1 on what would stop a cutover; --join is an action, done once every table joined.
    if (o.join) return { exitCode: report.notReplicated.length ? 1 : 0 };
    return { exitCode: report.problems.length ? 1 : 0 };
  } finally {
    await Promise.all([closeQuietly(s.source), closeQuietly(s.target)]);
  }
}

/**
 * `dmskit ddl "<SQL>" [--tables s.t,...]`: a schema change applied to the target and the source in the
 * order that keeps replication running (native/ddl.ts), locked to one run per migration; a table it
 * creates in scope joins replication.
 */
export async function ddl(
  o: ScopeCommandOptions & { sql: string; tables?: string },
): Promise<CommandOutcome> {
  if (!o.sql.trim()) throw new UsageError('ddl: the SQL statement is empty');
  const { config } = await loadConfigOption(o.config, o.cwd);
  const start = await startStateStore(statePaths(o, config).start).load();
  if (!start?.steps.subscription)
    throw new UsageError(
      `ddl: no running native migration of ${config.name}/${config.environment} in ${statePaths(o, config).dir}: run the change on both servers yourself, or dmskit start --engine native first`,
    );
  const tables = o.tables
    ? o.tables.split(',').map((x) => {
        const [schema, table] = x.trim().split('.');
        if (!schema || !table) throw new UsageError(`--tables: ${x} is not schema.table`);
        return { schema, table };
      })
    : undefined;
  const lock = await lockMigration({
    source: sourceUrlOf(config, o.sourceUrl),
    migration: `${config.name}/${config.environment}`,
    file: `${statePaths(o, config).start}.lock`,
  });
  const s = await sessions(o).catch(async (error) => {
    await lock.release();
    throw error;
  });
  try {
    const names = nativeObjectNames(config);
    const done = await withInterrupts(
      (signal) =>
        applyDdl({
          source: s.sourceUrl,
          target: s.targetUrl,
          sourceControl: s.source,
          targetControl: s.target,
          watermarkTable: names.watermarkTable,
          sql: o.sql,
          ...(tables ? { tables } : {}),
          signal,
        }),
      {
        what: 'the change was stopped before it was committed: nothing changed',
        leftBehind: () => 'nothing',
      },
    );
    const lines = [
      `applied to the target, then the source${done.tables.length ? `; writes on ${done.tables.map(displayName).join(', ')} waited ${formatDuration(done.heldMs)}` : ''}`,
    ];
    const report = await readScope(s.source, s.target, config);
    if (report.notReplicated.length) {
      const keys = new Set(report.notReplicated.map(tableKey));
      const joined = await joinTables({
        source: s.source,
        target: s.target,
        tables: report.inScopeInfo.filter((t) => keys.has(tableKey(t))),
        names,
      });
      for (const t of joined.joined)
        lines.push(`joined ${displayName(t)} to replication (${t.rows} row(s) copied)`);
    }
    // The change is applied: what else would stop a cutover is said, not counted against it.
    const after = await readScope(s.source, s.target, config);
    for (const p of after.problems) lines.push(`still stopping a cutover: ${p}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return { exitCode: 0 };
  } finally {
    await Promise.all([closeQuietly(s.source), closeQuietly(s.target)]);
    await lock.release();
  }
}
