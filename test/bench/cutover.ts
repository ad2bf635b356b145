/**
 * `pnpm bench:cutover`: the write-unavailability window of dmskit's cutover under load, at two sizes, and
 * what clients behind PgBouncer see. Two local PostgreSQL servers; pgbench data on the source at each
 * scale; for each run a fresh target database, `dmskit start --engine native`, then `pgbench -c 4`
 * through a real PgBouncer (Debian's, installed where missing) while `dmskit cutover` pauses PgBouncer,
 * fences, proves with the watermark, repoints PgBouncer at the target and resumes. Prints p50, p95 and max
 * of the window and of each part per size, the ratio of large to small, pgbench's failed transactions
 * and the longest client-visible pause (the slowest transaction in pgbench's per-transaction log).
 *
 *   pnpm bench:cutover [--scales 7,70] [--runs 5] [--clients 4]
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import { Command } from 'commander';
import { runDmskit } from '../helpers/cli.js';
import { prepareMigration } from '../helpers/migration.js';
import { startPgBouncer } from '../helpers/pgbouncer.js';
import { removeScratchDirs, scratchDir } from '../helpers/scratch.js';
import { createDatabase, query, startServer } from '../helpers/servers.js';

const program = new Command('bench:cutover')
  .option('--scales <list>', 'pgbench scales (7 is about 0.1 GB, 70 about 1 GB)', '7,70')
  .option('--runs <n>', 'cutovers per size', '5')
  .option('--clients <n>', 'pgbench clients through PgBouncer', '4')
  .parse();
const opts = program.opts<{ scales: string; runs: string; clients: string }>();
const scales = opts.scales.split(',').map(Number);
const runs = Number(opts.runs);
const clients = Number(opts.clients);
const PASSWORD = 'bench-app-pw';
const PARTS = [
  'totalMs',
  'pauseMs',
  'fenceMs',
  'watermarkMs',
  'stopReplicationMs',
  'sequencesMs',
  'switchMs',
] as const;
type Part = (typeof PARTS)[number];

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

interface RunResult {
  window: Record<Part, number>;
  failed: number;
  transactions: number;
  /** The slowest transaction that overlapped the switchover (PAUSE to RESUME): the pause clients saw. */
  longestPauseMs: number;
  /** The slowest transaction of the whole run (checkpoints, the final validation on 2 cores...). */
  slowestMs: number;
  verdict: string;
}

const source = await startServer('source', { logical: true });
const target = await startServer('target', { logical: true }); // the fall-back path publishes from it
const dir = await scratchDir('bench-cutover');
const results = new Map<number, RunResult[]>();
try {
  for (const s of [source, target])
    await query(s.url, `CREATE ROLE app LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  for (const scale of scales) {
    results.set(scale, []);
    for (let i = 1; i <= runs; i++) {
      const name = `b${scale}-r${i}`;
      const db = `db_b${scale}_r${i}`;
      // A fresh copy of the pgbench data for each run: the last cutover left the source database fenced.
      const sourceUrl = await createDatabase(source, db);
      const init = await run('pgbench', ['-i', '-q', '-s', String(scale), '--foreign-keys', sourceUrl]);
      if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.out}`);
      const bouncer = await startPgBouncer({ bench: { port: source.port, dbname: db } }, 'app', PASSWORD);
      try {
        const m = await prepareMigration(source, target, dir, {
          name,
          sourceExists: true,
          cutover: {
            maxLagSeconds: 5,
            // pgbench only inserts into its history table, which has no key.
            insertOnlyTables: [{ schema: 'public', table: 'pgbench_history' }],
            pooler: {
              type: 'pgbouncer',
              adminUrl: bouncer.adminUrl,
              database: 'bench',
              iniFile: bouncer.iniFile,
            },
          },
        });
        const started = await runDmskit(['start', ...m.args], { timeoutMs: 1_800_000 });
        if (started.code !== 0) throw new Error(`start failed: ${started.stderr}`);
        const logDir = path.join(dir, `log-${name}`);
        await mkdir(logDir, { recursive: true });
        const load = run('pgbench', [
          '-n',
          '-M',
          'simple',
          '-c',
          String(clients),
          '-j',
          '2',
          '-T',
          '14',
          '-l',
          '--log-prefix',
          path.join(logDir, 'tx'),
          bouncer.urlFor('bench'),
        ]);
        await new Promise((r) => setTimeout(r, 4000));
        const cut = await runDmskit(['cutover', '--json', ...m.args], { timeoutMs: 600_000 });
        const bench = await load;
        if (cut.code !== 0) throw new Error(`cutover failed (${cut.code}): ${cut.stderr}`);
        const result = JSON.parse(cut.stdout) as {
          window: Record<Part, number>;
          validation?: { verdict: string };
        };
        // pgbench's per-transaction log: client, transaction, latency (us), script, end (epoch s, us).
        const state = JSON.parse(
          await readFile(path.join(m.stateDir, `cutover-${name}-staging.json`), 'utf8'),
        ) as { pooler?: { pausedAt?: string }; fenceStartedAt?: string; readyAt?: string };
        const from = Date.parse(state.pooler?.pausedAt ?? state.fenceStartedAt ?? '');
        const to = Date.parse(state.readyAt ?? '');
        let longest = 0;
        let slowest = 0;
        let transactions = 0;
        for (const f of await readdir(logDir)) {
          for (const line of (await readFile(path.join(logDir, f), 'utf8')).split('\n')) {
            const [, , us, , s, usEnd] = line.split(' ').map(Number);
            if (!Number.isFinite(us) || !Number.isFinite(s)) continue;
            transactions++;
            const end = s! * 1000 + usEnd! / 1000;
            const start = end - us! / 1000;
            slowest = Math.max(slowest, us! / 1000);
            if (start <= to && end >= from) longest = Math.max(longest, us! / 1000);
          }
        }
        const failed = Number(/number of failed transactions: (\d+)/.exec(bench.out)?.[1] ?? Number.NaN);
        results.get(scale)!.push({
          window: result.window,
          failed: bench.code === 0 ? failed : Number.NaN,
          transactions,
          longestPauseMs: Math.round(longest),
          slowestMs: Math.round(slowest),
          verdict: result.validation?.verdict ?? '?',
        });
        process.stderr.write(
          `scale ${scale} run ${i}: window ${result.window.totalMs} ms, ${failed} failed of ${transactions} transactions, longest pause at the switchover ${Math.round(longest)} ms (slowest of the run ${Math.round(slowest)} ms), validation ${result.validation?.verdict}\n`,
        );
        await query(m.sourceUrl, `ALTER DATABASE ${db} RESET default_transaction_read_only`).catch(
          () => undefined,
        );
      } finally {
        await bouncer.stop();
      }
    }
  }
} finally {
  await Promise.all([source.stop(), target.stop()]);
  await removeScratchDirs();
}

const table = new Table({
  head: ['scale', 'figure', ...PARTS.map((p) => p.replace(/Ms$/, ' ms'))],
  style: { head: [], border: [] },
});
for (const [scale, rs] of results) {
  for (const [label, p] of [
    ['p50', 50],
    ['p95', 95],
    ['max', 100],
  ] as const)
    table.push([
      String(scale),
      label,
      ...PARTS.map((part) =>
        String(
          percentile(
            rs.map((r) => r.window[part]),
            p,
          ),
        ),
      ),
    ]);
}
console.log(table.toString());
const [small, large] = scales.map((s) => results.get(s) ?? []);
const p50 = (rs: RunResult[] | undefined) =>
  percentile(
    (rs ?? []).map((r) => r.window.totalMs),
    50,
  );
const targets = new Table({ head: ['target', 'figure', 'met'], style: { head: [], border: [] } });
for (const [scale, rs] of results) {
  const w = rs.map((r) => r.window.totalMs);
  targets.push([
    `window p50 < 100 ms (scale ${scale})`,
    `${percentile(w, 50)} ms`,
    percentile(w, 50) < 100 ? 'yes' : 'no',
  ]);
  targets.push([
    `window max < 250 ms (scale ${scale})`,
    `${Math.max(...w)} ms`,
    Math.max(...w) < 250 ? 'yes' : 'no',
  ]);
  const failed = rs.reduce((a, r) => a + r.failed, 0);
  targets.push([
    `failed client transactions = 0 (scale ${scale})`,
    String(failed),
    failed === 0 ? 'yes' : 'no',
  ]);
  const pause = Math.max(...rs.map((r) => r.longestPauseMs));
  targets.push([
    `longest client pause at the switchover < 500 ms (scale ${scale})`,
    `${pause} ms`,
    pause < 500 ? 'yes' : 'no',
  ]);
  targets.push([
    `(slowest transaction of the runs, scale ${scale})`,
    `${Math.max(...rs.map((r) => r.slowestMs))} ms`,
    '',
  ]);
  targets.push([
    `final validation equal (scale ${scale})`,
    rs.map((r) => r.verdict).join(', '),
    rs.every((r) => r.verdict === 'equal') ? 'yes' : 'no',
  ]);
}
if (small && large) {
  const ratio = p50(large) / p50(small);
  targets.push(['window p50 large / small < 1.3', ratio.toFixed(2), ratio < 1.3 ? 'yes' : 'no']);
}
console.log(targets.toString());
