/**
 * The floor of a full load on this machine, measured on the bench's servers: how fast the data alone
 * moves with the same number of streams, and how long the longest single index build takes on its own.
 * No load of data plus indexes can end before the larger of the two.
 * - copy: the tables made bare on a new target database (pg_dump's pre-data: columns, defaults, check
 *   constraints, no index or key), then dmskit's own parallel copy (the same plan of whole tables and ctid
 *   ranges, `jobs` streams) at an exported snapshot of the source.
 * - index builds: then each index of the source built alone on that database, one after the other
 *   (`maintenance_work_mem` 256 MiB, parallel workers for what can use them), and each foreign key added
 *   and validated alone.
 * - work: the CPU all of that took, over the cores. On a machine whose cores the copy and the builds
 *   together keep busy for longer than either alone, this, not the larger of the two, is what bounds a
 *   load (two cores, two servers and the client on them, in this bench).
 */

import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { urlWithoutPassword } from '@dmskit/ops-cli';
import pg from 'pg';
import { parallelCopy } from '../../packages/ops-cli/src/fullload/copy.js';
import { describeCopyTables, planCopy } from '../../packages/ops-cli/src/fullload/plan.js';
import { query, withClient } from '../helpers/servers.js';
import { cpu } from './fullload-timeline.js';

const exec = promisify(execFile);

/** Busy core-ms between two /proc/stat readings (jiffies of 10 ms: USER_HZ 100). */
const coreMs = (a: { busy: number }, b: { busy: number }) => (b.busy - a.busy) * 10;

/** One object built alone: its name, access method (or `foreign key`), table and ms. */
export interface BuildTime {
  name: string;
  kind: string;
  table: string;
  ms: number;
}

/** What the floor is made of (ms). */
export interface Floor {
  copyMs: number;
  /**
   * The CPU the copy and every build took (core-ms, from /proc/stat: both servers and the client),
   * spread over the machine's cores: no schedule on this machine ends sooner.
   */
  workMs: number;
  builds: BuildTime[];
  /** The longest index build (foreign keys not counted: they can be validated side by side). */
  longestBuildMs: number;
  /** max(copyMs, longestBuildMs): the floor as bench:fullload's issue defines it. */
  floorMs: number;
}

/**
 * Measures the floor into the new, empty database `targetUrl`.
 * @param env - PGPASSFILE for pg_dump and pg_restore
 */
export async function measureFloor(
  sourceUrl: string,
  targetUrl: string,
  jobs: number,
  env: Record<string, string>,
): Promise<Floor> {
  const dump = `pg_dump --section=pre-data -Fc '${urlWithoutPassword(sourceUrl)}' | pg_restore --no-owner -d '${urlWithoutPassword(targetUrl)}'`;
  await exec('sh', ['-c', dump], { env: { ...process.env, ...env } });

  const source = new pg.Client({ connectionString: sourceUrl });
  const snapshotHolder = new pg.Client({ connectionString: sourceUrl });
  await Promise.all([source.connect(), snapshotHolder.connect()]);
  let copyMs: number;
  let busyCoreMs = 0;
  try {
    await snapshotHolder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const { rows } = await snapshotHolder.query('SELECT pg_export_snapshot() AS s');
    const snapshot = (rows[0] as { s: string }).s;
    const names = await query<{ schema: string; table: string }>(
      sourceUrl,
      "SELECT 'public' AS schema, relname AS table FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
    );
    const major = Math.floor(
      Number((await source.query('SHOW server_version_num')).rows[0].server_version_num) / 10_000,
    );
    const chunks = planCopy(await describeCopyTables(source, names), { jobs, sourceMajor: major });
    const t = performance.now();
    const before = await cpu();
    await parallelCopy({ source: sourceUrl, target: targetUrl, monitor: source, snapshot, chunks, jobs });
    copyMs = performance.now() - t;
    busyCoreMs += coreMs(before, await cpu());
  } finally {
    await snapshotHolder.end();
    await source.end();
  }

  // Every index (keys as their unique index) and foreign key of the source, each built alone.
  const indexes = await query<{ name: string; kind: string; table: string; def: string }>(
    sourceUrl,
    `SELECT i.relname AS name, am.amname AS kind, t.relname AS table, pg_get_indexdef(i.oid) AS def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_am am ON am.oid = i.relam
      WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r' ORDER BY 1`,
  );
  const keys = await query<{ name: string; table: string; def: string }>(
    sourceUrl,
    `SELECT con.conname AS name, t.relname AS table,
            format('ALTER TABLE %s ADD CONSTRAINT %I %s', t.oid::regclass, con.conname, pg_get_constraintdef(con.oid)) AS def
       FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
      WHERE con.contype = 'f' AND con.conparentid = 0 AND t.relnamespace = 'public'::regnamespace ORDER BY 1`,
  );
  const builds: BuildTime[] = [];
  await withClient(targetUrl, async (c) => {
    await c.query(
      `SET maintenance_work_mem = '256MB'; SET max_parallel_maintenance_workers = ${Math.max(0, jobs - 1)}`,
    );
    for (const i of indexes) {
      const t = performance.now();
      const before = await cpu();
      await c.query(i.def);
      busyCoreMs += coreMs(before, await cpu());
      builds.push({ name: i.name, kind: i.kind, table: i.table, ms: performance.now() - t });
    }
    for (const k of keys) {
      const t = performance.now();
      const before = await cpu();
      await c.query(k.def);
      busyCoreMs += coreMs(before, await cpu());
      builds.push({ name: k.name, kind: 'foreign key', table: k.table, ms: performance.now() - t });
    }
  });
  const longestBuildMs = Math.max(0, ...builds.filter((b) => b.kind !== 'foreign key').map((b) => b.ms));
  const workMs = busyCoreMs / availableParallelism();
  return { copyMs, workMs, builds, longestBuildMs, floorMs: Math.max(copyMs, longestBuildMs) };
}
