import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadMigrationConfig } from '@dmskit/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runDmskit, startDmskit } from '../helpers/cli.js';
import { independentDiff } from '../helpers/independent.js';
import { startLedgerWriter } from '../helpers/ledger.js';
import { scratchDir } from '../helpers/scratch.js';
import {
  createDatabase,
  type LocalServer,
  query,
  query1,
  startServer,
  withClient,
} from '../helpers/servers.js';

const SCHEMA = `CREATE TABLE ledger (id bigserial PRIMARY KEY, note text NOT NULL, at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(12,2) NOT NULL);
  INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 2000) g;
  INSERT INTO ledger (note) SELECT 'seed ' || g FROM generate_series(1, 5000) g;
  CREATE MATERIALIZED VIEW ledger_total AS SELECT count(*)::int AS n FROM ledger;
  CREATE UNIQUE INDEX ledger_total_n ON ledger_total (n);
  CREATE MATERIALIZED VIEW ledger_kinds AS SELECT DISTINCT split_part(note, ' ', 1) AS kind FROM ledger;`;

/**
 * The cutover runbook on the native engine while an application keeps writing: no committed write is
 * lost (checked row by row, and against the ids the writer saw committed), the window is reported; a
 * cutover killed mid-way resumes; one that fails leaves the source writable.
 */
describe('dmskit cutover --engine native', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      startServer('target', { logical: true }),
    ]);
    dir = await scratchDir('cutover');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** A migration of its own (own database, slot and state file), replicating, with a writer running. */
  async function migration(cutover: Record<string, unknown> = {}) {
    n++;
    const db = `app${n}`;
    const [sourceUrl, targetUrl] = await Promise.all([
      createDatabase(source, db),
      createDatabase(target, db),
    ]);
    await query(sourceUrl, SCHEMA);
    const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: REPO_ROOT });
    const cfg = {
      ...structuredClone(config),
      name: `cut${n}`,
      source: { ...config.source, caCertificateFile: undefined },
      cutover: { ...config.cutover, ...cutover },
    };
    const configFile = path.join(dir, `cut${n}.json`);
    await writeFile(configFile, JSON.stringify(cfg));
    const common = [
      '--config',
      configFile,
      '--engine',
      'native',
      '--source-url',
      sourceUrl,
      '--target-url',
      targetUrl,
      '--state-dir',
      path.join(dir, `state${n}`),
    ];
    const started = await runDmskit(['start', ...common]);
    expect(started.code, started.stderr).toBe(0);
    const writer = startLedgerWriter(sourceUrl);
    await new Promise((r) => setTimeout(r, 1500)); // CDC carries the writer's rows for a while
    const state = path.join(dir, `cut${n}-state.json`);
    return {
      sourceUrl,
      targetUrl,
      writer,
      args: [...common, '--state', state],
      state,
      slot: `dmskit_cut${n}_staging_slot`,
      sub: `dmskit_cut${n}_staging_sub`,
    };
  }

  async function noRowLost(m: Awaited<ReturnType<typeof migration>>) {
    const ids = new Set(
      (await query<{ id: string }>(m.targetUrl, 'SELECT id FROM ledger')).map((r) => Number(r.id)),
    );
    expect(m.writer.committed.length).toBeGreaterThan(0);
    expect(m.writer.committed.filter((id) => !ids.has(id))).toEqual([]);
    const diff = await independentDiff(m.sourceUrl, m.targetUrl);
    expect(diff.differences).toEqual([]);
  }

  it('cuts over under writes: no row lost, the window reported, the source left fenced', async () => {
    const m = await migration();
    const run = await runDmskit(['cutover', ...m.args]);
    await m.writer.stop();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /Writes were unavailable for [\d.]+m?s: fence [\d.]+m?s, watermark on the target [\d.]+m?s \(committed at [0-9A-F]+\/[0-9A-F]+\)/,
    );
    expect(m.writer.rejected()).toBeGreaterThan(0); // the application met the fence
    await noRowLost(m);
    await expect(query(m.sourceUrl, "INSERT INTO ledger (note) VALUES ('after')")).rejects.toThrowError(
      /read-only transaction/,
    );
    expect(
      await query(m.targetUrl, 'SELECT subname FROM pg_subscription WHERE subname = $1', [m.sub]),
    ).toEqual([]);
    expect(
      await query(m.sourceUrl, 'SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1', [m.slot]),
    ).toEqual([]);
    const [{ next }] = await query1<{ next: string }>(m.targetUrl, "SELECT nextval('ledger_id_seq') AS next");
    expect(Number(next)).toBeGreaterThan(Math.max(...m.writer.committed));
    expect(JSON.parse(await readFile(m.state, 'utf8')).status).toBe('ready');
    // The materialized views the start filled with the full load's rows, refreshed from the final data
    // (one concurrently, over its unique index; one plainly).
    expect(run.stderr).toMatch(/2 materialized view\(s\) refreshed from the final data/);
    expect(await query(m.targetUrl, 'SELECT n FROM ledger_total')).toEqual(
      await query(m.targetUrl, 'SELECT count(*)::int AS n FROM ledger'),
    );
    expect(await query(m.targetUrl, 'SELECT kind FROM ledger_kinds ORDER BY 1')).toEqual(
      await query(m.targetUrl, "SELECT DISTINCT split_part(note, ' ', 1) AS kind FROM ledger ORDER BY 1"),
    );
  });

  it('killed mid-way, resumes where it stopped and loses no row', async () => {
    const m = await migration();
    const first = await runDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'kill:fence' } });
    expect(first.code).toBeNull(); // killed right after the fence was recorded
    const state = JSON.parse(await readFile(m.state, 'utf8'));
    expect(state).toMatchObject({ status: 'in-progress', fence: { method: 'read-only' } });
    const second = await runDmskit(['cutover', ...m.args]);
    await m.writer.stop();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('resuming the cutover');
    expect(second.stdout).toContain('Target ready (resumed cutover)');
    await noRowLost(m);
  });

  /**
   * A row changed on the target past its guard (as a superuser can, with the apply's own setting), with the
   * validation gate off, so that only the final validation can see it: its own line of defence.
   */
  async function changeTargetBehindItsBack(targetUrl: string): Promise<void> {
    await withClient(targetUrl, async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query('UPDATE accounts SET balance = -1 WHERE id = 7');
    });
  }

  it('final validation after ready: a row changed on the target behind its back is named, exit 1, the target stays ready', async () => {
    const m = await migration({ maxValidationAgeMinutes: null });
    await changeTargetBehindItsBack(m.targetUrl);
    const run = await runDmskit(['cutover', ...m.args]);
    await m.writer.stop();
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('Final validation (after-ready): different');
    expect(run.stderr).toMatch(
      /validation: final validation is different .*public\.accounts: 1 row\(s\) differ/,
    );
    // The window held no validation; the source stays fenced, the target is ready.
    const state = JSON.parse(await readFile(m.state, 'utf8'));
    expect(state).toMatchObject({ status: 'ready', validation: { verdict: 'different' } });
    expect(state.window.validationMs).toBe(0);
    await expect(query(m.sourceUrl, "INSERT INTO ledger (note) VALUES ('x')")).rejects.toThrowError(
      /read-only/,
    );
  });

  it('final validation after ready ignores what the application writes on the target after ready, and its copies on the old source', async () => {
    const m = await migration();
    const run = startDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'pause:fallback' } });
    await run.line(/paused at fallback$/);
    // The application, switched to the target, writes at once: after the snapshots of the ready moment;
    // the fall-back path copies its writes to the old source before the final validation reads it.
    await query(m.targetUrl, "INSERT INTO ledger (note) VALUES ('written on the new primary')");
    await query(m.targetUrl, 'UPDATE accounts SET balance = balance + 1 WHERE id = 3');
    const deadline = Date.now() + 30_000;
    while (
      !(await query(m.sourceUrl, "SELECT 1 FROM ledger WHERE note = 'written on the new primary'")).length
    ) {
      if (Date.now() > deadline)
        throw new Error('the fall-back path did not bring the row to the old source');
      await new Promise((r) => setTimeout(r, 100));
    }
    run.signal('SIGUSR2');
    const done = await run.result;
    await m.writer.stop();
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('Final validation (after-ready): equal');
    expect(done.stderr).toContain('both sides as they were at ready (snapshots taken then)');
  });

  it('failing on purpose (the target was changed behind its back, validation before ready): exit 2, the source writable, replication resumed', async () => {
    const m = await migration({ finalValidation: 'before-ready', maxValidationAgeMinutes: null });
    await changeTargetBehindItsBack(m.targetUrl);
    const run = await runDmskit(['cutover', ...m.args]);
    await m.writer.stop();
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /dmskit: cutover failed at validation: final validation is different: public\.accounts.*; the source was unfenced and takes writes again/,
    );
    await query(m.sourceUrl, "INSERT INTO ledger (note) VALUES ('writable again')");
    expect(
      await query(m.targetUrl, 'SELECT subenabled FROM pg_subscription WHERE subname = $1', [m.sub]),
    ).toEqual([{ subenabled: true }]);
    expect(JSON.parse(await readFile(m.state, 'utf8')).status).toBe('failed');
  });

  it('rollback by hand after a killed cutover: unfenced, replication enabled again', async () => {
    const m = await migration();
    const killed = await runDmskit(['cutover', ...m.args], {
      env: { DMSKIT_FAULT: 'kill:stop-replication' },
    });
    expect(killed.code).toBeNull();
    await expect(query(m.sourceUrl, "INSERT INTO ledger (note) VALUES ('fenced?')")).rejects.toThrowError(
      /read-only/,
    );
    const rb = await runDmskit(['rollback', ...m.args]);
    await m.writer.stop();
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toContain('fence released (read-only): default_transaction_read_only of app');
    expect(rb.stdout).toContain('replication resumed (native)');
    await query(m.sourceUrl, "INSERT INTO ledger (note) VALUES ('writable again')");
    expect(
      await query(m.targetUrl, 'SELECT subenabled FROM pg_subscription WHERE subname = $1', [m.sub]),
    ).toEqual([{ subenabled: true }]);
  });

  it('--dry-run prints the runbook and connects nowhere', async () => {
    const run = await runDmskit(['cutover', '--dry-run', '--engine', 'dms']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('DMS: StopReplicationTask ecommerce-staging-task; wait until stopped');
    expect(run.stdout).toContain('source: ALTER DATABASE "shop" SET default_transaction_read_only = on');
    expect(run.stdout.match(/^\d+\. /gm)).toHaveLength(9); // with the fall-back step
    expect(run.stdout).toContain('pass --source-url to estimate it from the size of the tables');
  });

  it('--dry-run with --source-url estimates the window of each final-validation choice from the table sizes', async () => {
    const m = await migration();
    await m.writer.stop();
    const run = await runDmskit(['cutover', '--dry-run', ...m.args]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/after-ready \(configured\): about [\d.]+m?s whatever the size/);
    expect(run.stdout).toMatch(
      /before-ready: about [\d.]+m?s \(validating [\d.]+ (B|KiB|MiB) of tables at about 90 MiB\/s\)/,
    );
    expect(run.stdout).toMatch(/ALTER DATABASE "app\d+" SET default_transaction_read_only = on/);
  });
});
