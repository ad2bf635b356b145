/**
 * `pnpm bench:fullload`: dmskit's native full load against the peer tools, side by side on the same data
 * in one run. Two local PostgreSQL servers; on the source, one database per schema variant (see
 * fullload-data.ts: `plain`, pgbench data and a wide table with two b-tree indexes; `indexed`, the same
 * with foreign keys, a check constraint, GIN, GiST, expression and partial indexes), about 1.1-1.3 GB at
 * `--scale 1`.
 * Each tool copies into a new, empty target database, timed from its start until the data and every
 * index are in place (for dmskit: until CDC runs on the slot the copy came from):
 * - `dmskit start --engine native --jobs N`
 * - `pgcopydb clone --table-jobs N --index-jobs N` (Debian's pgcopydb, installed when missing), and again
 *   with `--split-tables-larger-than` so that it splits large tables as dmskit does; the faster of the two
 *   is the reference
 * - `pg_dump -Fd -j N` then `pg_restore -j N`
 * Prints wall, ratio to pgcopydb, rows/s, peak RSS of each client process (GNU time), and whether every
 * table is equal to the source afterwards (count and an order-independent hash of every row, every index
 * and constraint definition, and whether each is valid). Then, per variant, the floor measured on the same
 * servers (fullload-floor.ts: the data alone with the same streams; the longest single index build), dmskit's
 * wall over it, and where each dmskit load's time went (fullload-timeline.ts).
 *
 *   pnpm bench:fullload [--scale 1] [--jobs 2] [--runs 3] [--variant plain,indexed,kinds] [--floor plain,indexed] [--only 'native --jobs 2,--index-jobs 2']
 */

import { execFile, spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { urlWithoutPassword } from '@dmskit/ops-cli';
import Table from 'cli-table3';
import { Command } from 'commander';
import pg from 'pg';
import { REPO_ROOT, runDmskit } from '../helpers/cli.js';
import { prepareMigration } from '../helpers/migration.js';
import { removeScratchDirs, scratchDir } from '../helpers/scratch.js';
import { createDatabase, query, startServer, withClient } from '../helpers/servers.js';
import { buildData, DEFAULT_VARIANTS, VARIANTS, type Variant } from './fullload-data.js';
import { type Floor, measureFloor } from './fullload-floor.js';
import { type Breakdown, sampleLoad } from './fullload-timeline.js';

const exec = promisify(execFile);
const program = new Command('bench:fullload')
  .option('--scale <gb>', 'data size in GB (1: pgbench scale 50 and 1.5 M wide rows)', '1')
  .option('--jobs <n>', 'workers of every tool', '2')
  .option('--runs <n>', 'runs of each tool, alternating (the median is reported)', '3')
  .option(
    '--variant <names>',
    `schema variants, comma-separated (${VARIANTS.join(', ')})`,
    DEFAULT_VARIANTS.join(','),
  )
  .option(
    '--floor <names>',
    'variants whose floor is measured, comma-separated (none: no floor)',
    DEFAULT_VARIANTS.join(','),
  )
  .option('--only <endings>', 'run only the tools whose name ends with one of these (comma-separated)')
  .parse();
const opts = program.opts<{
  scale: string;
  jobs: string;
  runs: string;
  variant: string;
  floor: string;
  only?: string;
}>();
const variants = opts.variant.split(',').map((v) => v.trim()) as Variant[];
for (const v of variants)
  if (!VARIANTS.includes(v)) program.error(`--variant: unknown variant ${v} (known: ${VARIANTS.join(', ')})`);
const scale = Number(opts.scale);
const jobs = Number(opts.jobs);
const runs = Number(opts.runs);

interface Timed {
  wallMs: number;
  peakRssKb: number | null;
  out: string;
}

/** Runs a command under GNU time (when present) for its peak RSS; throws with its output when it fails. */
async function timed(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Timed> {
  const gnuTime = await access('/usr/bin/time').then(
    () => true,
    () => false,
  );
  const [file, argv] = gnuTime ? ['/usr/bin/time', ['-f', 'dmskit-bench-rss %M', cmd, ...args]] : [cmd, args];
  const t = performance.now();
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(file, argv, {
      cwd: REPO_ROOT,
      env: { ...process.env, FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
    });
    child.stderr.on('data', (d) => {
      text += d;
    });
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, out: text }));
  });
  const wallMs = performance.now() - t;
  if (code !== 0) throw new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`);
  const rss = /dmskit-bench-rss (\d+)/.exec(out);
  return { wallMs, peakRssKb: rss ? Number(rss[1]) : null, out };
}

async function ensurePgcopydb(): Promise<string> {
  const found = await exec('sh', ['-c', 'command -v pgcopydb']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (found) return found;
  console.error('installing pgcopydb from Debian (apt-get install pgcopydb)');
  await exec('apt-get', ['install', '-y', '-q', 'pgcopydb'], { maxBuffer: 64 * 1024 * 1024 });
  return (await exec('sh', ['-c', 'command -v pgcopydb'])).stdout.trim();
}

/**
 * Rows and an order-independent hash of every row of every table of schema public; every index
 * definition; every constraint's definition and whether it is validated.
 */
async function fingerprint(url: string): Promise<Map<string, string>> {
  const tables = await query<{ t: string }>(
    url,
    "SELECT relname AS t FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1",
  );
  const out = new Map<string, string>();
  await withClient(url, async (c) => {
    await c.query("SET TimeZone = 'UTC'; SET extra_float_digits = 3");
    for (const { t } of tables) {
      const { rows } = await c.query(
        `SELECT count(*)::text || ':' || coalesce(sum(hashtext(x::text)::int8), 0)::text AS f FROM public.${pg.escapeIdentifier(t)} x`,
      );
      out.set(t, (rows[0] as { f: string }).f);
    }
    const idx = await c.query(
      "SELECT count(*)::text || ':' || md5(string_agg(indexdef, ';' ORDER BY indexdef)) AS n FROM pg_indexes WHERE schemaname = 'public'",
    );
    out.set('(indexes)', (idx.rows[0] as { n: string }).n);
    const con = await c.query(
      `SELECT count(*)::text || ':' || md5(string_agg(x, ';' ORDER BY x)) AS n
         FROM (SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated AS x
                 FROM pg_constraint WHERE connamespace = 'public'::regnamespace) c`,
    );
    out.set('(constraints)', (con.rows[0] as { n: string }).n);
  });
  return out;
}

function same(a: Map<string, string>, b: Map<string, string>): string {
  const diff = [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
  return diff.length ? `differs: ${diff.join(', ')}` : `equal (${a.size - 2} tables)`;
}

/** The middle value; the mean of the two middle ones for an even count. */
const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const source = await startServer('source', { logical: true, settings: { max_wal_size: '4GB' } });
// The launcher starts a new apply worker at most every wal_retrieve_retry_interval (5 s by default): on
// one server that several runs share in a row, that would time the launcher, not the load.
const target = await startServer('target', {
  logical: true,
  settings: { max_wal_size: '4GB', wal_retrieve_retry_interval: '200ms' },
});
const dir = await scratchDir('bench-fullload');
const work = await mkdtemp(path.join(tmpdir(), 'dmskit-bench-fullload-'));
const secs = (ms: number) => (ms / 1000).toFixed(1);
try {
  const pgcopydb = await ensurePgcopydb();
  // Both servers' passwords in a passfile: no tool gets one on its command line.
  const passfile = path.join(work, 'pgpass');
  const entries = [source.url, target.url].map((u) => {
    const x = new URL(u);
    return `${x.hostname}:${x.port}:*:${decodeURIComponent(x.username)}:${decodeURIComponent(x.password)}`;
  });
  await writeFile(passfile, `${entries.join('\n')}\n`, { mode: 0o600 });
  const env = { PGPASSFILE: passfile };
  // The command as users run it (`pnpm dmskit`): the compiled bundle, no TypeScript loader.
  const BIN = path.join(REPO_ROOT, 'packages/ops-cli/bin/dmskit.mjs');
  let n = 0;
  const drop = (url: string) =>
    withClient(target.url, (c) =>
      c.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`),
    );
  const reports: string[] = [];
  let warmedUp = false;

  for (const variant of variants) {
    const database = `bench_${variant}`;
    const sourceUrl = await createDatabase(source, database);
    await buildData(sourceUrl, variant, scale, env);
    const [{ bytes, rows }] = (await query<{ bytes: string; rows: string }>(
      sourceUrl,
      "SELECT pg_database_size(current_database())::int8 AS bytes, (SELECT sum(reltuples)::int8 FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace) AS rows",
    )) as [{ bytes: string; rows: string }];
    const totalRows = Number(rows);
    const expected = await fingerprint(sourceUrl);
    console.error(
      `${variant}: ${(Number(bytes) / 1024 ** 3).toFixed(2)} GB, ${totalRows.toLocaleString('en-US')} rows`,
    );
    const fresh = async () => {
      n++;
      return createDatabase(target, `copy${n}`);
    };

    type Tool = {
      name: string;
      run: () => Promise<{ t: Timed; url: string; breakdown?: Breakdown; cleanup?: () => Promise<unknown> }>;
    };
    /** `dmskit start --engine native --jobs <workers>` into a new target database, its target sampled. */
    const dmskit = (workers: number): Tool => ({
      name: `dmskit start --engine native --jobs ${workers}`,
      run: async () => {
        const m = await prepareMigration(source, target, dir, {
          sourceExists: true,
          database,
          name: `bench${n + 1}`,
          tableMappings: [{ action: 'include', schema: 'public', table: '%' }],
        });
        n++;
        const stop = await sampleLoad(target.url, database);
        const t = await timed(process.execPath, [BIN, 'start', ...m.args, '--jobs', String(workers)]);
        const breakdown = await stop();
        return { t, url: m.targetUrl, breakdown, cleanup: () => runDmskit(['abandon', ...m.args]) };
      },
    });
    /** `pgcopydb clone` with `jobs` table and index jobs, and `extra` options, into a new database. */
    const pgcopydbClone = (label: string, extra: string[]): Tool => ({
      name: `pgcopydb clone --table-jobs ${jobs} --index-jobs ${jobs}${label}`,
      run: async () => {
        const url = await fresh();
        const args = [
          'clone',
          '--source',
          urlWithoutPassword(sourceUrl),
          '--target',
          urlWithoutPassword(url),
        ];
        const t = await timed(
          pgcopydb,
          [
            ...args,
            '--table-jobs',
            String(jobs),
            '--index-jobs',
            String(jobs),
            ...extra,
            '--no-owner',
            '--no-acl',
            '--dir',
            path.join(work, `pgcopydb-${n}`),
          ],
          env,
        );
        return { t, url };
      },
    });
    const splitMb = Math.round(Number(bytes) / jobs / 3 / 1024 ** 2);
    const allTools: Tool[] = [
      dmskit(jobs),
      pgcopydbClone('', []),
      // One copy stream already keeps two processes busy (the source's and the target's backend): with both
      // servers on this machine, half the workers may use its cores better.
      dmskit(Math.max(1, Math.floor(jobs / 2))),
      pgcopydbClone(` --split-tables-larger-than ${splitMb}MB`, [
        '--split-tables-larger-than',
        `${splitMb}MB`,
      ]),
      {
        name: `pg_dump -Fd -j ${jobs} + pg_restore -j ${jobs}`,
        run: async () => {
          const url = await fresh();
          const out = path.join(work, `dump-${n}`);
          const d = await timed(
            'pg_dump',
            ['-Fd', '-j', String(jobs), '-Z', '0', '-f', out, urlWithoutPassword(sourceUrl)],
            env,
          );
          const r = await timed(
            'pg_restore',
            ['-j', String(jobs), '--no-owner', '-d', urlWithoutPassword(url), out],
            env,
          );
          await rm(out, { recursive: true, force: true });
          return {
            t: {
              wallMs: d.wallMs + r.wallMs,
              peakRssKb: Math.max(d.peakRssKb ?? 0, r.peakRssKb ?? 0) || null,
              out: '',
            },
            url,
          };
        },
      },
    ];

    const only = opts.only
      ?.split(',')
      .map((w) => w.trim())
      .filter(Boolean);
    const tools = only ? allTools.filter((t) => only.some((w) => t.name.endsWith(w))) : allTools;
    if (!tools.some((t) => t.name.startsWith('pgcopydb')))
      throw new Error('--only must keep a pgcopydb tool: it is the reference of every ratio');
    // One untimed load first: a new server creates (and zero-fills) every WAL segment the first load
    // writes, where later loads recycle them, so whichever tool ran first paid several seconds for it.
    // The servers keep their segments from one variant to the next: once is enough.
    if (!warmedUp) {
      warmedUp = true;
      const warm = await (tools[0] as Tool).run();
      console.error(`warm-up (untimed): ${secs(warm.t.wallMs)} s`);
      await warm.cleanup?.();
      await drop(warm.url);
    }
    const results = tools.map((tool) => ({
      name: tool.name,
      walls: [] as number[],
      breakdowns: [] as Breakdown[],
      rss: null as number | null,
      check: '',
    }));
    const settle = async () => {
      // Neither server starts with another tool's dirty buffers or WAL to write, nor the kernel with their
      // dirty pages (the first tool after the data build would pay for its writeback).
      await withClient(source.url, (c) => c.query('CHECKPOINT'));
      await withClient(target.url, (c) => c.query('CHECKPOINT'));
      await exec('sync');
    };
    // Round by round, every tool once per round, in reverse order every other round: no tool always runs
    // first after the data build, or always after the same neighbour.
    for (let i = 0; i < runs; i++) {
      const order = tools.map((_, k) => k);
      if (i % 2 === 1) order.reverse();
      for (const k of order) {
        const tool = tools[k] as Tool;
        const r = results[k] as (typeof results)[number];
        await settle();
        const { t, url, breakdown, cleanup } = await tool.run();
        r.walls.push(t.wallMs);
        if (breakdown) r.breakdowns.push(breakdown);
        r.rss = Math.max(r.rss ?? 0, t.peakRssKb ?? 0) || null;
        const check = same(expected, await fingerprint(url));
        r.check = r.check && r.check !== check ? `${r.check}; ${check}` : check;
        console.error(`${variant}: ${tool.name}: ${secs(t.wallMs)} s, ${check}`);
        await cleanup?.();
        await drop(url);
      }
    }
    let floor: Floor | undefined;
    if (opts.floor.split(',').includes(variant)) {
      await settle();
      const url = await fresh();
      floor = await measureFloor(sourceUrl, url, jobs, env);
      await drop(url);
    }

    const reference = Math.min(
      ...results.filter((r) => r.name.startsWith('pgcopydb')).map((r) => median(r.walls)),
    );
    const table = new Table({
      head: ['tool', 'wall s', 'runs s', 'x pgcopydb (best)', 'rows/s', 'peak RSS MB', 'data and indexes'],
      style: { head: [], border: [] },
    });
    for (const r of results) {
      const wall = median(r.walls);
      table.push([
        r.name,
        secs(wall),
        r.walls.map(secs).join(', '),
        (wall / reference).toFixed(2),
        Math.round((totalRows * 1000) / wall).toLocaleString('en-US'),
        r.rss === null ? '' : (r.rss / 1024).toFixed(0),
        r.check,
      ]);
    }
    const lines = [
      `\nbench:fullload, variant ${variant}: ${(Number(bytes) / 1024 ** 3).toFixed(2)} GB, ${totalRows.toLocaleString('en-US')} rows, ${jobs} jobs, median of ${runs} alternating run(s), 2 PostgreSQL 15 servers on loopback\n`,
      table.toString(),
    ];
    const ours = results.find((r) => r.name.startsWith('dmskit')); // with --jobs as given, when it ran
    if (ours?.breakdowns.length) {
      const b = new Table({
        head: [
          'dmskit run',
          'wall',
          'before copy',
          'copy',
          'builds after last row',
          'foreign keys (span / session)',
          'lock waits',
          'after builds',
          'idle core-s (after last row)',
        ],
        style: { head: [], border: [] },
      });
      ours.breakdowns.forEach((x, i) => {
        b.push([
          String(i + 1),
          secs(x.wallMs),
          secs(x.beforeCopyMs),
          secs(x.copyMs),
          secs(x.buildsAfterLastRowMs),
          `${secs(x.foreignKeySpanMs)} / ${secs(x.foreignKeySessionMs)}`,
          secs(x.lockWaitSessionMs),
          secs(x.afterBuildsMs),
          `${secs(x.idleCoreMs)} (${secs(x.idleCoreMsAfterLastRow)})`,
        ]);
      });
      lines.push(
        "\nwhere dmskit's time went (s; from the target's sessions every 100 ms and /proc/stat):",
        b.toString(),
      );
    }
    if (floor) {
      const f = new Table({ head: ['built alone', 'kind', 'table', 's'], style: { head: [], border: [] } });
      for (const x of [...floor.builds].sort((a, z) => z.ms - a.ms))
        f.push([x.name, x.kind, x.table, secs(x.ms)]);
      lines.push(
        `\nfloor: the data alone with ${jobs} streams ${secs(floor.copyMs)} s; the longest index build alone ${secs(floor.longestBuildMs)} s; all builds one after another ${secs(floor.builds.reduce((s, x) => s + x.ms, 0))} s; the CPU of all that over the cores (work) ${secs(floor.workMs)} s`,
        f.toString(),
      );
    }
    if (ours) {
      const wall = median(ours.walls);
      lines.push(
        `\ntargets (${variant}): dmskit <= 0.75x pgcopydb: ${(wall / reference).toFixed(2)}x ${wall / reference <= 0.75 ? 'met' : 'NOT met'}` +
          (floor
            ? `; <= 1.25x the floor max(copy, longest build) (${secs(floor.floorMs)} s): ${(wall / floor.floorMs).toFixed(2)}x ${wall / floor.floorMs <= 1.25 ? 'met' : 'NOT met'}; over the work floor (${secs(floor.workMs)} s): ${(wall / floor.workMs).toFixed(2)}x`
            : '') +
          `; CLI peak RSS: ${ours.rss === null ? 'unknown' : `${(ours.rss / 1024).toFixed(0)} MB`}`,
      );
    }
    console.log(lines.join('\n'));
    reports.push(lines.join('\n'));
    await withClient(source.url, (c) => c.query(`DROP DATABASE "${database}" WITH (FORCE)`));
  }
  if (reports.length > 1) console.log(`\n\nall variants:\n${reports.join('\n')}`);
} finally {
  await Promise.all([source.stop(), target.stop()]);
  await rm(work, { recursive: true, force: true });
  await removeScratchDirs();
}
