import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { checkHistory, type HistoryWriter, LEDGER_DDL, startHistoryWriter } from '../helpers/history.js';
import { startMigration, type TestMigration, until } from '../helpers/migration.js';
import { scratchDir } from '../helpers/scratch.js';
import {
  expectNoReplicationObjects,
  type LocalServer,
  query,
  query1,
  startServer,
  withClient,
} from '../helpers/servers.js';

/**
 * Fall back without loss: after the cutover the old source follows the new primary (reverse logical
 * replication from the ready moment); `rollback` after ready runs the runbook the other way and loses no
 * write made on the target; `finish` ends the path and leaves nothing on either side.
 */

const SCHEMA = `${LEDGER_DDL};
  CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(12,2) NOT NULL);
  CREATE TABLE events (at timestamptz NOT NULL DEFAULT now(), what text);
  INSERT INTO accounts SELECT g, g FROM generate_series(1, 300) g;
  INSERT INTO ledger (op) SELECT -g FROM generate_series(1, 500) g;`;

describe('fall back after the cutover', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      startServer('target', { logical: true }),
    ]);
    dir = await scratchDir('fallback');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** Cut over under writes, then the application writes on the new primary. */
  async function cutOver(): Promise<{ m: TestMigration; onTarget: HistoryWriter }> {
    const m = await startMigration(source, target, dir, {
      schema: SCHEMA,
      cutover: { insertOnlyTables: [{ schema: 'public', table: 'events' }] },
    });
    const onSource = startHistoryWriter(m.sourceUrl);
    await until('writes on the source', async () => onSource.ok.length > 20);
    const run = await runDmskit(['cutover', ...m.args]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /fallback: fall-back path: \w+ on the old source follows the target from [0-9A-F]+\/[0-9A-F]+/,
    );
    await onSource.stop();
    expect((await checkHistory(m.targetUrl, onSource)).lost).toEqual([]);
    const onTarget = startHistoryWriter(m.targetUrl, { firstOp: 1_000_000 });
    await until('writes on the new primary', async () => onTarget.ok.length > 50);
    await query(m.targetUrl, "INSERT INTO events (what) VALUES ('keyless row written on the new primary')");
    await query(m.targetUrl, 'UPDATE accounts SET balance = -5 WHERE id = 9');
    return { m, onTarget };
  }

  async function fellBackWithoutLoss(m: TestMigration, onTarget: HistoryWriter) {
    await onTarget.stop();
    expect(onTarget.fail.length).toBeGreaterThan(0); // the target was fenced
    const check = await checkHistory(m.sourceUrl, onTarget);
    expect({ lost: check.lost, duplicated: check.duplicated, phantom: check.phantom }).toEqual({
      lost: [],
      duplicated: [],
      phantom: [],
    });
    expect(await query(m.sourceUrl, "SELECT what FROM events WHERE what LIKE 'keyless%'")).toHaveLength(1);
    expect(await query(m.sourceUrl, 'SELECT balance FROM accounts WHERE id = 9')).toEqual([
      { balance: '-5.00' },
    ]);
    // The old source takes writes again; its sequence continues after the target's.
    const [{ id }] = await query1<{ id: string }>(
      m.sourceUrl,
      'INSERT INTO ledger (op) VALUES (0) RETURNING id',
    );
    const [{ max }] = await query1<{ max: string }>(m.targetUrl, 'SELECT max(id)::text AS max FROM ledger');
    expect(Number(id)).toBeGreaterThan(Number(max));
    await expect(query(m.targetUrl, 'INSERT INTO ledger (op) VALUES (0)')).rejects.toThrow(); // fenced now
  }

  async function nothingLeftOfThisDatabase(m: TestMigration) {
    await expectNoReplicationObjects(m.sourceUrl, m.targetUrl);
    for (const url of [m.sourceUrl, m.targetUrl]) {
      expect(await query(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'dmskit'")).toHaveLength(
        url === m.sourceUrl ? 0 : 1,
      );
    }
  }

  it('a second attempt after a rollback after ready: abandon finds everything by name on both servers, start --reload-target, cutover again loses nothing', async () => {
    const { m, onTarget } = await cutOver();
    const rb = await runDmskit(['rollback', ...m.args]);
    expect(rb.code, rb.stderr).toBe(0);
    await fellBackWithoutLoss(m, onTarget);
    // What a user tries first is answered with the way on.
    for (const command of ['cutover', 'start']) {
      const tried = await runDmskit([command, ...m.args]);
      expect(tried.code, tried.stderr).toBe(2);
      expect(tried.stderr).toMatch(
        /was rolled back to the old source: to try again, run dmskit abandon .*then dmskit start --reload-target/,
      );
    }
    // The records lost too (a new state folder): abandon still finds everything by name.
    const moved = m.args.map((a) => (a === m.stateDir ? `${m.stateDir}-new` : a));
    const abandoned = await runDmskit(['abandon', ...moved]);
    expect(abandoned.code, abandoned.stderr + abandoned.stdout).toBe(0);
    expect(abandoned.stdout).toMatch(/removed .*fence or guard trigger\(s\) on the target/);
    expect(abandoned.stdout).toMatch(/removed the read-only fence .* on the target/);
    await expectNoReplicationObjects(m.sourceUrl, m.targetUrl);
    for (const url of [m.sourceUrl, m.targetUrl])
      expect(await query(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'dmskit'")).toEqual([]);
    await query(m.targetUrl, 'INSERT INTO events (what) VALUES (NULL)'); // the target takes writes again
    const plain = await runDmskit(['start', ...moved]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/already has table/);
    const onSource = startHistoryWriter(m.sourceUrl, { firstOp: 2_000_000 });
    await until('writes on the source', async () => onSource.ok.length > 20);
    const reload = await runDmskit(['start', '--reload-target', ...moved]);
    expect(reload.code, reload.stderr).toBe(0);
    expect(reload.stderr).toMatch(/--reload-target: emptied \d+ table\(s\) on the target .*public\.accounts/);
    const again = await runDmskit(['cutover', ...moved]);
    expect(again.code, again.stderr).toBe(0);
    await onSource.stop();
    const check = await checkHistory(m.targetUrl, onSource);
    expect({ lost: check.lost, duplicated: check.duplicated }).toEqual({ lost: [], duplicated: [] });
    expect(await query(m.targetUrl, 'SELECT count(*)::int AS n FROM events WHERE what IS NULL')).toEqual([
      { n: 0 },
    ]);
  });

  it('rollback after ready: every write acknowledged on the target is on the old source, which takes writes again', async () => {
    const { m, onTarget } = await cutOver();
    const status = await runDmskit(['status', ...m.args]);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/fall-back path \(target -> old source\): lag .* 0 apply error\(s\)/);
    const rb = await runDmskit(['rollback', ...m.args]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toMatch(
      /^Fell back to 127\.0\.0\.1:\d+\/db_\w+: every write made on the target reached it/,
    );
    expect(rb.stdout).toContain('the fall-back path is ended');
    await fellBackWithoutLoss(m, onTarget);
    const fin = await runDmskit(['finish', ...m.args]);
    expect(fin.code, fin.stderr).toBe(0);
    expect(fin.stdout).toMatch(/was ended at/);
    await nothingLeftOfThisDatabase(m);
  });

  it('a fall back killed half-way resumes when run again and loses nothing', async () => {
    const { m, onTarget } = await cutOver();
    const killed = await runDmskit(['rollback', ...m.args], { env: { DMSKIT_FAULT: 'kill:watermark' } });
    expect(killed.code).toBeNull();
    const again = await runDmskit(['rollback', ...m.args]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('resuming the cutover');
    await fellBackWithoutLoss(m, onTarget);
    const state = JSON.parse(await readFile(path.join(m.stateDir, `cutover-${m.name}-staging.json`), 'utf8'));
    expect(state.status).toBe('rolled-back');
  });

  it('finish without a rollback: nothing of the path is left on either side, the old source stays fenced', async () => {
    const { m, onTarget } = await cutOver();
    await onTarget.stop();
    const fin = await runDmskit(['finish', ...m.args]);
    expect(fin.code, fin.stderr).toBe(0);
    expect(fin.stdout).toContain('the old source stays fenced');
    for (const url of [m.sourceUrl, m.targetUrl])
      expect(
        await query(url, 'SELECT slot_name FROM pg_replication_slots WHERE database = current_database()'),
      ).toEqual([]);
    expect(await query(m.targetUrl, 'SELECT pubname FROM pg_publication')).toEqual([]);
    await expect(query(m.sourceUrl, 'INSERT INTO ledger (op) VALUES (0)')).rejects.toThrow();
    const rb = await runDmskit(['rollback', ...m.args]);
    expect(rb.code).toBe(2); // no path left: only --force, which says what would diverge
  });

  it("the old source's apply errors surface in status, and a rollback then refuses", async () => {
    const { m, onTarget } = await cutOver();
    await onTarget.stop();
    // A row on the old source behind dmskit's back (a superuser past the fence) that the target's next
    // insert collides with: the reverse apply fails on it.
    const [{ next }] = await query1<{ next: string }>(
      m.targetUrl,
      'SELECT last_value + 1 AS next FROM ledger_id_seq',
    );
    await withClient(m.sourceUrl, async (c) => {
      await c.query('SET session_replication_role = replica');
      await c.query('SET default_transaction_read_only = off');
      await c.query('INSERT INTO ledger (id, op) VALUES ($1, -999)', [next]);
    });
    await query(m.targetUrl, 'INSERT INTO ledger (op) VALUES (-998)');
    await until('the apply error', async () => {
      const s = await runDmskit(['status', ...m.args]);
      return s.code === 1 && /apply error/.test(s.stdout) && !/ 0 apply error/.test(s.stdout);
    });
    const rb = await runDmskit(['rollback', ...m.args]);
    expect(rb.code).toBe(2);
    expect(rb.stderr).toMatch(/the fall-back path is broken|apply/);
  });
});
