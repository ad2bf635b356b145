import path from 'node:path';
import pg from 'pg';
import { runDmskit } from '../helpers/cli.js';
import { prepareMigration, type TestMigration } from '../helpers/migration.js';
import { type LocalServer, query, withClient } from '../helpers/servers.js';
import { asRole, grantWriter } from '../helpers/write-paths.js';
import { Rng } from './schema-generator.js';

/*
 * Generated histories of a CDC phase and its cutover, checked the way Jepsen checks a set: a seed picks
 * the tables (plain, partitioned, inheritance), the fence method, what happens during CDC (tables
 * created, with or without `scope --join`; columns added on the source only, by hand on both sides, or
 * with `dmskit ddl`; writes on the target, refused or forced past the guard; a table without replica
 * identity, declared insert-only or not, updated or not) and whether the cutover is rolled back after
 * ready. An application role writes throughout and records every acknowledged commit. The checker:
 * - every case the cutover cannot prove must be refused before the fence (exit 2, the source never
 *   fenced, and writable: the writer's later commits are acknowledged);
 * - otherwise the cutover ends ready and every acknowledged write of every table is on the target once,
 *   no refused write is;
 * - after a rollback after ready, every write acknowledged by either primary is on the old source.
 */

type Shape = 'plain' | 'partitioned' | 'inherited';

type CdcEvent =
  | {
      readonly kind: 'new-table';
      readonly table: string;
      readonly order: 'target-first' | 'source-first';
      readonly join: boolean;
    }
  | { readonly kind: 'add-column'; readonly table: string; readonly via: 'ddl' | 'by-hand' | 'source-only' }
  | { readonly kind: 'target-write'; readonly table: string; readonly forced: boolean }
  | { readonly kind: 'keyless'; readonly declared: boolean; readonly updated: boolean }
  | { readonly kind: 'drop-table'; readonly via: 'ddl' | 'source-only' };

/** One generated history, before it runs. */
export interface CutoverScenario {
  readonly seed: number;
  readonly fenceMethod: 'read-only' | 'lock-tables' | 'revoke-login';
  readonly tables: readonly { readonly name: string; readonly shape: Shape }[];
  readonly events: readonly CdcEvent[];
  readonly rollbackAfterReady: boolean;
  /** What the cutover must do: `refuse` when an event leaves something it cannot prove. */
  readonly expect: 'ready' | 'refuse';
}

/** The scenario a seed gives (the same seed, the same scenario). */
export function generateScenario(seed: number): CutoverScenario {
  // Neighbouring seeds give unrelated scenarios: the seed is mixed first (xoroshiro's first outputs of
  // small seeds are alike).
  const rng = new Rng(Math.imul(seed ^ 0x2545f491, 0x9e3779b1));
  const shapes: Shape[] = ['plain', 'partitioned', 'inherited'];
  const tables = Array.from({ length: rng.int(1, 3) }, (_, i) => ({
    name: `t${i}`,
    shape: rng.pick(shapes),
  }));
  const events: CdcEvent[] = [];
  const n = rng.int(0, 3);
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(['new-table', 'add-column', 'target-write', 'keyless', 'drop-table'] as const);
    if (kind === 'new-table')
      events.push({
        kind,
        table: `fresh${i}`,
        order: rng.pick(['target-first', 'source-first'] as const),
        join: rng.chance(0.7),
      });
    else if (kind === 'add-column')
      events.push({
        kind,
        table: rng.pick(tables).name,
        via: rng.pick(['ddl', 'ddl', 'by-hand', 'source-only'] as const),
      });
    else if (kind === 'target-write')
      events.push({ kind, table: rng.pick(tables).name, forced: rng.chance(0.5) });
    else if (kind === 'drop-table') {
      if (!events.some((e) => e.kind === 'drop-table'))
        events.push({ kind, via: rng.pick(['ddl', 'ddl', 'source-only'] as const) });
    } else if (!events.some((e) => e.kind === 'keyless'))
      events.push({ kind, declared: rng.chance(0.6), updated: rng.chance(0.4) });
  }
  // `scope --join` joins every table not yet replicated: a table left out is joined by a later join.
  const lastJoin = events.findLastIndex((e) => e.kind === 'new-table' && e.join);
  const unprovable = events.some(
    (e, i) =>
      (e.kind === 'new-table' && !e.join && i > lastJoin) ||
      (e.kind === 'add-column' && e.via === 'source-only') ||
      (e.kind === 'target-write' && e.forced) ||
      (e.kind === 'keyless' && (!e.declared || e.updated)) ||
      (e.kind === 'drop-table' && e.via === 'source-only'),
  );
  return {
    seed,
    fenceMethod: rng.pick(['read-only', 'lock-tables', 'revoke-login'] as const),
    tables,
    events,
    rollbackAfterReady: !unprovable && rng.chance(0.3),
    expect: unprovable ? 'refuse' : 'ready',
  };
}

function tableDdl(name: string, shape: Shape): string {
  if (shape === 'partitioned')
    return `CREATE TABLE ${name} (id bigserial, op bigint NOT NULL, PRIMARY KEY (op, id)) PARTITION BY RANGE (op);
      CREATE TABLE ${name}_p0 PARTITION OF ${name} FOR VALUES FROM (MINVALUE) TO (500);
      CREATE TABLE ${name}_p1 PARTITION OF ${name} FOR VALUES FROM (500) TO (MAXVALUE);`;
  if (shape === 'inherited')
    return `CREATE TABLE ${name} (id bigserial PRIMARY KEY, op bigint NOT NULL);
      CREATE TABLE ${name}_c (CHECK (op % 2 = 1)) INHERITS (${name}); ALTER TABLE ${name}_c ADD PRIMARY KEY (id);`;
  return `CREATE TABLE ${name} (id bigserial PRIMARY KEY, op bigint NOT NULL);`;
}

/** Where an op of a table is inserted: an inheritance child takes the odd ops, its parent the even. */
function insertTarget(name: string, shape: Shape, op: number): string {
  return shape === 'inherited' && op % 2 === 1 ? `${name}_c` : name;
}

/** The application: an op at a time into one of the live tables, each acknowledged commit recorded. */
class HistoryWriter {
  readonly ok = new Map<string, number[]>();
  readonly fail = new Map<string, number[]>();
  private running = true;
  private readonly loop: Promise<void>;
  constructor(
    url: string,
    private readonly live: () => readonly { name: string; shape: Shape }[],
    firstOp: number,
    rng: Rng,
  ) {
    let op = firstOp;
    let client: pg.Client | undefined;
    this.loop = (async () => {
      while (this.running) {
        const tables = this.live();
        const t = tables[rng.int(0, tables.length - 1)]!;
        const n = ++op;
        try {
          if (!client) {
            client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
            client.on('error', () => undefined);
            await client.connect().catch((e) => {
              client = undefined;
              throw Object.assign(e as Error, { code: 'LOGIN' });
            });
          }
          await client.query(`INSERT INTO ${insertTarget(t.name, t.shape, n)} (op) VALUES ($1)`, [n]);
          (this.ok.get(t.name) ?? this.ok.set(t.name, []).get(t.name)!).push(n);
        } catch (error) {
          // A refused statement or login did not write; a lost connection (no SQLSTATE) is unknown.
          if ((error as { code?: string }).code)
            (this.fail.get(t.name) ?? this.fail.set(t.name, []).get(t.name)!).push(n);
          await client?.end().catch(() => undefined);
          client = undefined;
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 4));
      }
      await client?.end().catch(() => undefined);
    })();
  }
  acknowledged(): number {
    return [...this.ok.values()].reduce((s, a) => s + a.length, 0);
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Acknowledged ops missing from `url`, failed ops present, and ops present twice, per table. */
async function checkWriters(url: string, writers: readonly HistoryWriter[]): Promise<string[]> {
  const problems: string[] = [];
  const tables = new Set(writers.flatMap((w) => [...w.ok.keys(), ...w.fail.keys()]));
  for (const t of tables) {
    const rows = await query<{ op: string; n: number }>(
      url,
      `SELECT op::int8 AS op, count(*)::int AS n FROM ${t} GROUP BY op`,
    );
    const seen = new Map(rows.map((r) => [Number(r.op), r.n]));
    const lost = writers.flatMap((w) => w.ok.get(t) ?? []).filter((op) => !seen.has(op));
    const phantom = writers.flatMap((w) => w.fail.get(t) ?? []).filter((op) => seen.has(op));
    const twice = [...seen].filter(([op, n]) => op > 0 && n > 1).map(([op]) => op);
    if (lost.length)
      problems.push(
        `${t}: ${lost.length} acknowledged write(s) missing on ${new URL(url).port} (ops ${lost.slice(0, 5).join(', ')})`,
      );
    if (phantom.length)
      problems.push(`${t}: refused write(s) present (ops ${phantom.slice(0, 5).join(', ')})`);
    if (twice.length) problems.push(`${t}: op(s) ${twice.slice(0, 5).join(', ')} present twice`);
  }
  return problems;
}

async function fencedOnServer(url: string, role: string): Promise<string | null> {
  const setting = await query(
    url,
    "SELECT 1 FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND array_to_string(setconfig, ',') LIKE '%default_transaction_read_only=on%'",
  );
  const triggers = await query(url, "SELECT tgname FROM pg_trigger WHERE tgname LIKE '%\\_fence'");
  const nologin = await query(url, 'SELECT 1 FROM pg_roles WHERE rolname = $1 AND NOT rolcanlogin', [role]);
  if (setting.length) return 'default_transaction_read_only = on';
  if (triggers.length) return `${triggers.length} fence trigger(s)`;
  if (nologin.length) return `${role} cannot log in`;
  return null;
}

/** What one seed did and found. */
export interface SeedResult {
  readonly scenario: CutoverScenario;
  readonly problems: readonly string[];
  readonly log: readonly string[];
}

/**
 * Runs one seed on `source` and `target` (a migration of its own, in a database of its own) and checks
 * the history. Never throws for a failed check: the problems are returned.
 */
export async function runCutoverSeed(
  seed: number,
  servers: { source: LocalServer; target: LocalServer; dir: string },
): Promise<SeedResult> {
  const scenario = generateScenario(seed);
  const log: string[] = [`seed ${seed}: ${JSON.stringify(scenario)}`];
  const problems: string[] = [];
  const rng = new Rng(seed ^ 0x5eed);
  const live: { name: string; shape: Shape }[] = [...scenario.tables];
  const keyless = scenario.events.find((e) => e.kind === 'keyless');
  const schema = [
    ...scenario.tables.map((t) => tableDdl(t.name, t.shape)),
    ...(keyless
      ? [
          "CREATE TABLE audit (at timestamptz NOT NULL DEFAULT now(), what text); INSERT INTO audit (what) VALUES ('seed')",
        ]
      : []),
    ...(scenario.events.some((e) => e.kind === 'drop-table')
      ? [
          "CREATE TABLE retired (id int PRIMARY KEY, v text); INSERT INTO retired SELECT g, 'old' FROM generate_series(1, 50) g",
        ]
      : []),
  ].join(';\n');
  const name = `fz${seed % 100_000}x${Math.floor(Math.random() * 1000)}`;
  // Roles are the server's, not the database's: each seed has its own (revoke-login leaves it NOLOGIN).
  const role = `app_${name}`;
  const m: TestMigration = await prepareMigration(servers.source, servers.target, servers.dir, {
    name,
    schema,
    cutover: {
      fenceMethod: scenario.fenceMethod,
      applicationRoles: scenario.fenceMethod === 'revoke-login' ? [role] : [],
      insertOnlyTables:
        keyless?.kind === 'keyless' && keyless.declared ? [{ schema: 'public', table: 'audit' }] : [],
      maxFenceSeconds: 30,
    },
  });
  for (const url of [m.sourceUrl, m.targetUrl]) await grantWriter(url, role);
  const appUrl = (url: string) => asRole(url, role);
  const state = path.join(m.stateDir, 'cutover.json');
  const dmskit = async (args: string[], expectCode?: number) => {
    const r = await runDmskit([
      ...args,
      ...m.args,
      ...(args[0] === 'cutover' || args[0] === 'rollback' ? ['--state', state] : []),
    ]);
    log.push(`dmskit ${args[0]}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    if (expectCode !== undefined && r.code !== expectCode)
      problems.push(
        `dmskit ${args.join(' ')} exited ${r.code}, not ${expectCode}: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`,
      );
    return r;
  };
  const started = await dmskit(['start'], 0);
  if (started.code !== 0) return { scenario, problems, log };
  const writer = new HistoryWriter(appUrl(m.sourceUrl), () => live, 0, rng);
  const writers = [writer];
  try {
    await new Promise((r) => setTimeout(r, 300));
    for (const e of scenario.events) {
      log.push(`event ${JSON.stringify(e)}`);
      if (e.kind === 'new-table') {
        const ddl = `${tableDdl(e.table, 'plain')} GRANT ALL ON ${e.table}, ${e.table}_id_seq TO ${role};`;
        for (const url of e.order === 'target-first'
          ? [m.targetUrl, m.sourceUrl]
          : [m.sourceUrl, m.targetUrl])
          await query(url, ddl);
        live.push({ name: e.table, shape: 'plain' });
        await new Promise((r) => setTimeout(r, 200));
        if (e.join) await dmskit(['scope', '--join'], 0);
      } else if (e.kind === 'add-column') {
        const col = `c${rng.int(0, 1e6)}`;
        const sql = `ALTER TABLE ${e.table} ADD COLUMN ${col} text`;
        if (e.via === 'ddl') await dmskit(['ddl', sql], 0);
        else if (e.via === 'by-hand') {
          await query(m.targetUrl, sql);
          await query(m.sourceUrl, sql);
        } else await query(m.sourceUrl, sql);
      } else if (e.kind === 'target-write') {
        if (e.forced)
          await withClient(m.targetUrl, async (c) => {
            await c.query('SET session_replication_role = replica');
            await c.query(
              `DELETE FROM ${e.table} WHERE op IN (SELECT op FROM ${e.table} ORDER BY op LIMIT 3)`,
            );
          });
        else {
          const refused = await query(appUrl(m.targetUrl), `DELETE FROM ${e.table}`).then(
            () => false,
            () => true,
          );
          if (!refused) problems.push(`a DELETE on the target's ${e.table} during CDC was not refused`);
        }
      } else if (e.kind === 'drop-table') {
        // A table the application no longer uses, dropped during CDC.
        if (e.via === 'ddl') await dmskit(['ddl', 'DROP TABLE retired'], 0);
        else await query(m.sourceUrl, 'DROP TABLE retired');
      } else if (e.kind === 'keyless') {
        await query(m.sourceUrl, "INSERT INTO audit (what) VALUES ('during CDC')");
        if (e.updated) await query(m.sourceUrl, "UPDATE audit SET what = 'changed' WHERE what = 'seed'");
      }
      await new Promise((r) => setTimeout(r, rng.int(50, 400)));
    }
    const run = await dmskit(['cutover']);
    if (scenario.expect === 'refuse') {
      if (run.code !== 2)
        problems.push(`the cutover should have refused before the fence, but exited ${run.code}`);
      if (!/cutover failed at preconditions/.test(run.stderr))
        problems.push('the cutover did not stop at its preconditions');
      const fenced = await fencedOnServer(m.sourceUrl, role);
      if (fenced) problems.push(`the source is fenced after a refused cutover: ${fenced}`);
      const before = writer.acknowledged();
      await new Promise((r) => setTimeout(r, 300));
      if (writer.acknowledged() <= before)
        problems.push('the source takes no writes after a refused cutover');
      await writer.stop();
      problems.push(...(await checkWriters(m.sourceUrl, writers)));
    } else {
      if (run.code !== 0) problems.push(`the cutover should have reached ready, but exited ${run.code}`);
      await writer.stop();
      if (!writer.acknowledged()) problems.push('the writer committed nothing');
      problems.push(...(await checkWriters(m.targetUrl, writers)));
      if (run.code === 0 && scenario.rollbackAfterReady) {
        // The application now writes on the new primary; falling back must bring those writes too.
        const after = new HistoryWriter(appUrl(m.targetUrl), () => live, 1_000_000, rng);
        writers.push(after);
        await new Promise((r) => setTimeout(r, 500));
        await dmskit(['rollback'], 0);
        await after.stop();
        problems.push(...(await checkWriters(m.sourceUrl, writers)));
      }
    }
  } catch (error) {
    problems.push(`the run failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    for (const w of writers) await w.stop();
  }
  // Done with this migration: the fall-back path of a ready cutover is ended, a refused one abandoned; then
  // nothing of it may be left on either server (a forgotten slot fills a disk; a forgotten subscription
  // holds one of the server's logical replication workers).
  const end = await runDmskit([
    scenario.expect === 'ready' && !scenario.rollbackAfterReady ? 'finish' : 'abandon',
    ...m.args,
    '--state',
    state,
  ]);
  log.push(`dmskit end: exit ${end.code}\n${end.stdout}${end.stderr}`);
  for (const url of [m.sourceUrl, m.targetUrl]) {
    const left = await query<{ what: string }>(
      url,
      `SELECT 'slot ' || slot_name AS what FROM pg_replication_slots WHERE database = current_database()
       UNION ALL SELECT 'publication ' || pubname FROM pg_publication
       UNION ALL SELECT 'subscription ' || subname FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger
       UNION ALL SELECT 'target guard on ' || tgrelid::regclass FROM pg_trigger WHERE tgname LIKE '%\\_target\\_guard'`,
    );
    if (left.length) problems.push(`left on ${new URL(url).port}: ${left.map((l) => l.what).join(', ')}`);
  }
  return { scenario, problems, log };
}
