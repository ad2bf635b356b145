import { displayName, ExternalError, type TableName, UsageError } from '@dmskit/shared';
import { qualifiedName, type TableInfo, tableKey } from '@dmskit/validation';
import pg from 'pg';
import { unloggedProblem } from '../rehearsal/checks.js';
import { sleep } from '../util/time.js';
import { installTargetGuard } from './target-guard.js';

/*
 * A table that enters the scope during CDC (created on the source, its name matching the selection
 * rules) joins replication the way PostgreSQL adds a table to a running subscription: published on the
 * source, then `ALTER SUBSCRIPTION ... REFRESH PUBLICATION WITH (copy_data = true)` on the target, whose
 * table synchronization worker copies the rows from a snapshot of a temporary slot of its own and then
 * catches up with the apply from that slot's position, so no row is copied twice or missed (PostgreSQL:
 * "ALTER SUBSCRIPTION", "Logical Replication > Architecture > Initial Snapshot"). Tables already in the
 * subscription are not copied again.
 */

/** What joining found and did. */
export interface ScopeJoin {
  /** Tables added to replication, with the rows the synchronization copied (the target's count). */
  readonly joined: readonly (TableName & { readonly rows: number })[];
}

/**
 * Adds `tables` (in scope on the source, not yet published) to replication and waits until the target has
 * copied them and follows them (`pg_subscription_rel` state `r`), at most `timeoutMs`.
 * @throws UsageError naming an UNLOGGED table (no publication may hold it), a table that has no twin on the target (create it there first: `dmskit ddl`
 *   does both sides), whose target twin holds rows, or that needs the insert-only publication where the
 *   migration has none
 * @throws ExternalError when the copy does not finish in time (the table stays in the publication; run
 *   again to wait more)
 */
export async function joinTables(options: {
  source: pg.Client;
  target: pg.Client;
  tables: readonly TableInfo[];
  names: { publication: string; insertOnlyPublication: string; subscription: string; targetGuard: string };
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<ScopeJoin> {
  const { source, target, tables, names } = options;
  if (!tables.length) return { joined: [] };
  const problems: string[] = [];
  const unlogged = unloggedProblem(tables);
  if (unlogged) problems.push(unlogged);
  for (const t of tables) {
    const { rows } = await target.query('SELECT to_regclass($1) IS NOT NULL AS present', [qualifiedName(t)]);
    if (!(rows[0] as { present: boolean }).present) {
      problems.push(
        `${displayName(t)} does not exist on the target: create it there too (dmskit ddl "CREATE TABLE ..." does both sides)`,
      );
      continue;
    }
    const { rowCount } = await target.query(`SELECT 1 FROM ${qualifiedName(t)} LIMIT 1`);
    if (rowCount)
      problems.push(
        `${displayName(t)} already holds rows on the target: the copy would add the source's to them; empty it there first`,
      );
  }
  const pubs = (
    (
      await source.query('SELECT pubname FROM pg_publication WHERE pubname = ANY($1::text[])', [
        [names.publication, names.insertOnlyPublication],
      ])
    ).rows as { pubname: string }[]
  ).map((r) => r.pubname);
  const publicationOf = (t: TableInfo) =>
    t.hasReplicaIdentity ? names.publication : names.insertOnlyPublication;
  for (const t of tables)
    if (!pubs.includes(publicationOf(t)))
      problems.push(
        `${displayName(t)} ${t.hasReplicaIdentity ? 'has a replica identity' : 'has no replica identity'}, but the migration has no publication ${publicationOf(t)}: ${t.hasReplicaIdentity ? 'start the migration again' : 'add a primary key or REPLICA IDENTITY FULL on both sides first'}`,
      );
  if (problems.length) throw new UsageError(problems.join('; '));

  // The guard first: from the moment the subscription knows the table, only the apply writes it.
  await installTargetGuard(target, names.targetGuard, tables);
  for (const pub of new Set(tables.map(publicationOf))) {
    const mine = tables.filter((t) => publicationOf(t) === pub);
    const { rows } = await source.query(
      'SELECT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = $1',
      [pub],
    );
    const have = new Set((rows as TableName[]).map(tableKey));
    const add = mine.filter((t) => !have.has(tableKey(t)));
    if (add.length)
      await source.query(
        `ALTER PUBLICATION ${pg.escapeIdentifier(pub)} ADD TABLE ${add.map(qualifiedName).join(', ')}`,
      );
  }
  await target.query(
    `ALTER SUBSCRIPTION ${pg.escapeIdentifier(names.subscription)} REFRESH PUBLICATION WITH (copy_data = true)`,
  );
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (;;) {
    options.signal?.throwIfAborted();
    const { rows } = await target.query(
      `SELECT n.nspname AS schema, c.relname AS table, sr.srsubstate AS state
         FROM pg_subscription s JOIN pg_subscription_rel sr ON sr.srsubid = s.oid
         JOIN pg_class c ON c.oid = sr.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE s.subname = $1`,
      [names.subscription],
    );
    const state = new Map((rows as (TableName & { state: string })[]).map((r) => [tableKey(r), r.state]));
    const waiting = tables.filter((t) => state.get(tableKey(t)) !== 'r');
    if (!waiting.length) break;
    if (Date.now() > deadline)
      throw new ExternalError(
        `the copy of ${waiting.map(displayName).join(', ')} did not finish within ${Math.round((options.timeoutMs ?? 300_000) / 1000)} s (state ${waiting.map((t) => state.get(tableKey(t)) ?? 'not subscribed').join(', ')}); it goes on: run dmskit scope --join again to wait`,
      );
    await sleep(200, options.signal);
  }
  const joined = [];
  for (const t of tables) {
    const { rows } = await target.query(`SELECT count(*)::int8 AS n FROM ${qualifiedName(t)}`);
    joined.push({ schema: t.schema, table: t.table, rows: Number((rows[0] as { n: string }).n) });
  }
  return { joined };
}
