/**
 * `pnpm bench:fullload`: dmskit's native full load against the peer tools, side by side on the same data
 * in one run. Two local PostgreSQL servers; on the source, pgbench data plus a wide table (numeric,
 * float8, timestamptz, text, jsonb, bytea, uuid, two secondary indexes), about 1.1 GB at `--scale 1`.
 * Each tool copies into a new, empty target database, timed from its start until the data and every
 * index are in place (for dmskit: until CDC runs on the slot the copy came from):
 * - `dmskit start --engine native --jobs N`
 * - `pgcopydb clone --table-jobs N --index-jobs N` (Debian's pgcopydb, installed when missing), and again
 *   with `--split-tables-larger-than` so that it splits large tables as dmskit does; the faster of the two
 *   is the reference
 * - `pg_dump -Fd -j N` then `pg_restore -j N`
 * Prints wall, ratio to pgcopydb, rows/s, peak RSS of each client process (GNU time), and whether every
 * table is equal to the source afterwards (count and an order-independent hash of every row).
 *
 *   pnpm bench:fullload [--scale 1] [--jobs 2] [--runs 1] [--only 'native --jobs 2,--index-jobs 2']
 */
import { execFile, spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Table from 'cli-table3';
import { Command } from 'commander';
import { REPO_ROOT, runDmskit } from '../helpers/cli.js';
import { prepareMigration } from '../helpers/migration.js';
import { removeScratchDirs, scratchDir } from '../helpers/scratch.js';
import { createDatabase, query, startServer, withClient } from '../helpers/servers.js';

const exec = promisify(execFile);
const program = new Command('bench:fullload')
  .option('--scale <gb>', 'data size in GB (1: pgbench scale 50 and 1.5 M wide rows)', '1')
  .option('--jobs <n>', 'workers of every tool', '2')
  .option('--runs <n>', 'runs of each tool (the median is reported)', '1')
  .option('--only <endings>', 'run only the tools whose name ends with one of these (comma-separated)')
  .parse();
const opts = program.opts<{ scale: string; jobs: string; runs: string; only?: string }>();
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

function withoutPassword(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}

/** Rows and an order-independent hash of every row of every table of schema public. */
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
        `SELECT count(*)::text || ':' || coalesce(sum(hashtext(x::text)::int8), 0)::text AS f FROM public."${t}" x`,
      );
      out.set(t, (rows[0] as { f: string }).f);
    }
    const idx = await c.query("SELECT count(*)::text AS n FROM pg_indexes WHERE schemaname = 'public'");
    out.set('(indexes)', (idx.rows[0] as { n: string }).n);
  });
  return out;
}

function same(a: Map<string, string>, b: Map<string, string>): string {
  const diff = [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
  return diff.length ? `differs: ${diff.join(', ')}` : `equal (${a.size - 1} tables)`;
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
try {
  const pgcopydb = await ensurePgcopydb();
  const sourceUrl = await createDatabase(source, 'bench');
  const pgbenchScale = Math.max(1, Math.round(50 * scale));
  const wideRows = Math.round(1_500_000 * scale);
  console.error(
    `building the data: pgbench scale ${pgbenchScale}, ${wideRows.toLocaleString('en-US')} wide rows`,
  );
  // Both servers' passwords in a passfile: no tool gets one on its command line.
  const passfile = path.join(work, 'pgpass');
  const entries = [source.url, target.url].map((u) => {
    const x = new URL(u);
    return `${x.hostname}:${x.port}:*:${decodeURIComponent(x.username)}:${decodeURIComponent(x.password)}`;
  });
  await writeFile(passfile, `${entries.join('\n')}\n`, { mode: 0o600 });
  const env = { PGPASSFILE: passfile };
  await exec('pgbench', ['-i', '-q', '-s', String(pgbenchScale), '-I', 'dtgvp', withoutPassword(sourceUrl)], {
    env: { ...process.env, ...env },
  });
  await query(
    sourceUrl,
    `CREATE TABLE wide (id bigint PRIMARY KEY, amount numeric(14,4), ratio float8, at timestamptz, label text, doc jsonb, blob bytea, ref uuid);
     INSERT INTO wide SELECT g, g * 1.2345, random(), timestamptz '2026-01-01' - g * interval '1 s',
            md5(g::text) || repeat('w', g % 40), jsonb_build_object('id', g, 'tags', jsonb_build_array('a', 'b', g % 10)),
            decode(md5(g::text) || md5((g + 1)::text), 'hex'), gen_random_uuid()
       FROM generate_series(1, ${wideRows}) g;
     CREATE INDEX wide_at_idx ON wide (at);
     CREATE INDEX wide_ref_idx ON wide (ref);
     CREATE INDEX accounts_bid_idx ON pgbench_accounts (bid);`,
  );
  await query(sourceUrl, 'VACUUM ANALYZE');
  const [{ bytes, rows }] = (await query<{ bytes: string; rows: string }>(
    sourceUrl,
    "SELECT pg_database_size(current_database())::int8 AS bytes, (SELECT sum(reltuples)::int8 FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace) AS rows",
  )) as [{ bytes: string; rows: string }];
  const totalRows = Number(rows);
  const expected = await fingerprint(sourceUrl);
  console.error(
    `source: ${(Number(bytes) / 1024 ** 3).toFixed(2)} GB, ${totalRows.toLocaleString('en-US')} rows`,
  );

  // The command as users run it (`pnpm dmskit`): the compiled bundle, no TypeScript loader.
  const BIN = path.join(REPO_ROOT, 'packages/ops-cli/bin/dmskit.mjs');
  let n = 0;
  const fresh = async () => {
    n++;
    return createDatabase(target, `copy${n}`);
  };
  const drop = (url: string) =>
    withClient(target.url, (c) =>
      c.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`),
    );

  type Tool = {
    name: string;
    run: () => Promise<{ t: Timed; url: string; cleanup?: () => Promise<unknown> }>;
  };
  /** `dmskit start --engine native --jobs <workers>` into a new target database. */
  const dmskit = (workers: number): Tool => ({
    name: `dmskit start --engine native --jobs ${workers}`,
    run: async () => {
      const m = await prepareMigration(source, target, dir, {
        sourceExists: true,
        database: 'bench',
        name: `bench${n + 1}`,
        tableMappings: [{ action: 'include', schema: 'public', table: '%' }],
      });
      n++;
      const t = await timed(process.execPath, [BIN, 'start', ...m.args, '--jobs', String(workers)]);
      return { t, url: m.targetUrl, cleanup: () => runDmskit(['abandon', ...m.args]) };
    },
  });
  /** `pgcopydb clone` with `jobs` table and index jobs, and `extra` options, into a new database. */
  const pgcopydbClone = (label: string, extra: string[]): Tool => ({
    name: `pgcopydb clone --table-jobs ${jobs} --index-jobs ${jobs}${label}`,
    run: async () => {
      const url = await fresh();
      const args = ['clone', '--source', withoutPassword(sourceUrl), '--target', withoutPassword(url)];
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
    pgcopydbClone(` --split-tables-larger-than ${splitMb}MB`, ['--split-tables-larger-than', `${splitMb}MB`]),
    {
      name: `pg_dump -Fd -j ${jobs} + pg_restore -j ${jobs}`,
      run: async () => {
        const url = await fresh();
        const out = path.join(work, `dump-${n}`);
        const d = await timed(
          'pg_dump',
          ['-Fd', '-j', String(jobs), '-Z', '0', '-f', out, withoutPassword(sourceUrl)],
          env,
        );
        const r = await timed(
          'pg_restore',
          ['-j', String(jobs), '--no-owner', '-d', withoutPassword(url), out],
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
  {
    const warm = await (tools[0] as Tool).run();
    console.error(`warm-up (untimed): ${(warm.t.wallMs / 1000).toFixed(1)} s`);
    await warm.cleanup?.();
    await drop(warm.url);
  }
  const results = tools.map((tool) => ({
    name: tool.name,
    walls: [] as number[],
    rss: null as number | null,
    check: '',
  }));
  // Round by round, every tool once per round, in reverse order every other round: no tool always runs
  // first after the data build, or always after the same neighbour.
  for (let i = 0; i < runs; i++) {
    const order = tools.map((_, k) => k);
    if (i % 2 === 1) order.reverse();
    for (const k of order) {
      const tool = tools[k] as Tool;
      const r = results[k] as (typeof results)[number];
      // Neither server starts a tool with another tool's dirty buffers or WAL to write, nor the kernel
      // with their dirty pages (the first tool after the data build would pay for its writeback).
      await withClient(source.url, (c) => c.query('CHECKPOINT'));
      await withClient(target.url, (c) => c.query('CHECKPOINT'));
      await exec('sync');
      const { t, url, cleanup } = await tool.run();
      r.walls.push(t.wallMs);
      r.rss = Math.max(r.rss ?? 0, t.peakRssKb ?? 0) || null;
      r.check = same(expected, await fingerprint(url));
      console.error(`${tool.name}: ${(t.wallMs / 1000).toFixed(1)} s, ${r.check}`);
      await cleanup?.();
      await drop(url);
    }
  }
  const reference = Math.min(
    ...results.filter((r) => r.name.startsWith('pgcopydb')).map((r) => median(r.walls)),
  );
  const table = new Table({
    head: ['tool', 'wall s', 'x pgcopydb (best)', 'rows/s', 'peak RSS MB', 'data and indexes'],
    style: { head: [], border: [] },
  });
  for (const r of results) {
    const wall = median(r.walls);
    table.push([
      r.name,
      (wall / 1000).toFixed(1),
      (wall / reference).toFixed(2),
      Math.round((totalRows * 1000) / wall).toLocaleString('en-US'),
      r.rss === null ? '' : (r.rss / 1024).toFixed(0),
      r.check,
    ]);
  }
  console.log(
    `\nbench:fullload: ${(Number(bytes) / 1024 ** 3).toFixed(2)} GB, ${totalRows.toLocaleString('en-US')} rows, ${jobs} jobs, median of ${runs} run(s), 2 PostgreSQL 15 servers on loopback\n`,
  );
  console.log(table.toString());
  const ours = results.find((r) => r.name.startsWith('dmskit')); // with --jobs as given, when it ran
  if (ours)
    console.log(
      `\ntargets: dmskit <= 0.8x pgcopydb: ${(median(ours.walls) / reference).toFixed(2)}x ${median(ours.walls) / reference <= 0.8 ? 'met' : 'NOT met'}; CLI peak RSS < 200 MB: ${ours.rss === null ? 'unknown' : `${(ours.rss / 1024).toFixed(0)} MB ${ours.rss / 1024 < 200 ? 'met' : 'NOT met'}`}`,
    );
} finally {
  await Promise.all([source.stop(), target.stop()]);
  await rm(work, { recursive: true, force: true });
  await removeScratchDirs();
}
