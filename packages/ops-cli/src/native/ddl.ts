import { displayName, ExternalError, type TableName, UsageError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection, qualifiedName } from '@dmskit/validation';
import type pg from 'pg';
import { commitWatermark, waitForWatermark } from '../runbook/watermark.js';

/*
 * A schema change during CDC, applied to both sides in the order that keeps replication running.
 * Logical replication maps columns by name and sends each change with the table's shape as of its commit
 * ("Logical Replication > Restrictions", "Conflicts"), so the target must take the new shape exactly
 * between the source's last change in the old shape and its first in the new one:
 * 1. source, session A: the tables the statement names are locked against writes (SHARE ROW EXCLUSIVE:
 *    reads go on), so no change in either shape can commit on them;
 * 2. a watermark is committed on the source and waited for on the target: every earlier change of those
 *    tables is applied there;
 * 3. session A runs the statement (not committed yet: an error leaves both sides unchanged);
 * 4. the target runs it and commits;
 * 5. session A commits: writes resume, in the new shape, which the target already has.
 * Writes on the named tables wait for steps 2-5 (about the replication lag). A CREATE TABLE needs no lock.
 * The source's DDL capture records the statement as applied to both (`applied = 'both'`).
 */

/** Names of tables an SQL statement changes, read from its text (ALTER/DROP TABLE, CREATE INDEX ... ON). */
export function tablesNamedBy(sql: string): TableName[] {
  const ident = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
  const name = String.raw`(${ident})(?:\s*\.\s*(${ident}))?`;
  const patterns = [
    new RegExp(String.raw`\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?${name}`, 'gi'),
    new RegExp(String.raw`\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?${name}`, 'gi'),
    new RegExp(String.raw`\bCREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*?\bON\s+(?:ONLY\s+)?${name}`, 'gi'),
  ];
  const unquote = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase());
  const out: TableName[] = [];
  for (const re of patterns)
    for (const m of sql.matchAll(re)) {
      const [a, b] = [m[1]!, m[2]];
      out.push(b ? { schema: unquote(a), table: unquote(b) } : { schema: 'public', table: unquote(a) });
    }
  return out.filter((t, i) => out.findIndex((u) => u.schema === t.schema && u.table === t.table) === i);
}

/** What `applyDdl` did. */
export interface DdlApplied {
  readonly tables: readonly TableName[];
  /** How long writes on those tables waited, in ms. */
  readonly heldMs: number;
}

/**
 * Applies `sql` to the target and the source in the order described at the top of this file.
 * @throws UsageError when a side refuses the statement (nothing changed on either side)
 * @throws ExternalError when the source's commit fails after the target's (the message says to run the
 *   statement on the source by hand), or the watermark does not arrive in `timeoutMs`
 */
export async function applyDdl(options: {
  source: ConnectionInput;
  target: ConnectionInput;
  /** A dmskit session on the source that may write (the watermark). */
  sourceControl: pg.Client;
  targetControl: pg.Client;
  watermarkTable: string;
  sql: string;
  /** The tables to hold still; default: those the statement names. */
  tables?: readonly TableName[];
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<DdlApplied> {
  const tables = options.tables ?? tablesNamedBy(options.sql);
  const hold = await openConnection(options.source, 'source', { applicationName: 'dmskit-ddl' });
  const target = await openConnection(options.target, 'target', { applicationName: 'dmskit-ddl' });
  const t0 = performance.now();
  let targetDone = false;
  try {
    await hold.query('SET default_transaction_read_only = off');
    await hold.query('BEGIN');
    await hold.query("SET LOCAL lock_timeout = '10s'");
    if (tables.length)
      await hold.query(`LOCK TABLE ${tables.map(qualifiedName).join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
    const { token } = await commitWatermark(
      options.sourceControl,
      options.watermarkTable,
      `ddl on ${tables.map(displayName).join(', ') || 'new objects'}`,
    );
    await waitForWatermark(options.targetControl, options.watermarkTable, token, {
      timeoutMs: options.timeoutMs ?? 60_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await hold.query(options.sql).catch((error: Error) => {
      throw new UsageError(`the source refused the statement: ${error.message}; nothing was changed`);
    });
    await target.query('BEGIN');
    await target.query(options.sql).catch(async (error: Error) => {
      await target.query('ROLLBACK').catch(() => undefined);
      throw new UsageError(`the target refused the statement: ${error.message}; nothing was changed`);
    });
    await target.query('COMMIT');
    targetDone = true;
    await hold.query('COMMIT');
    return { tables, heldMs: Math.round(performance.now() - t0) };
  } catch (error) {
    await hold.query('ROLLBACK').catch(() => undefined);
    if (targetDone)
      throw new ExternalError(
        `the target took the statement but the source's commit failed (${(error as Error).message}): run it on the source by hand, or the apply stops at the next change of ${tables.map(displayName).join(', ')}`,
        { cause: error },
      );
    throw error;
  } finally {
    await Promise.all([closeQuietly(hold), closeQuietly(target)]);
  }
}
