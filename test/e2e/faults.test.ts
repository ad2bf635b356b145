import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runDmskit, startDmskit } from '../helpers/cli.js';
import {
  caughtUp,
  FAULTS_SCHEMA,
  faultServers,
  lastLine,
  migrateWithWriter,
  noLoss,
  nothingLeft,
  withClientOpen,
  writable,
} from '../helpers/faults.js';
import { startHistoryWriter } from '../helpers/history.js';
import { prepareMigration, startMigration, until } from '../helpers/migration.js';
import { startProxy } from '../helpers/proxy.js';
import { scratchDir } from '../helpers/scratch.js';
import {
  createDatabase,
  expectNoReplicationObjects,
  type LocalServer,
  query,
  startServer,
  withClient,
} from '../helpers/servers.js';

/**
 * Fault injection on real servers, in the manner of PostgreSQL's TAP tests and Jepsen (helpers/faults.ts):
 * faults are injected at named steps (DMSKIT_FAULT pauses or kills the CLI right after a step is recorded,
 * so nothing depends on timing): a second run, a prepared transaction, a session that turns read-write,
 * servers crashed (`-m immediate`), the network between the servers cut, a start killed at each step, a
 * slot invalidated. SIGKILL of the cutover at each step: `faults-kill.test.ts`.
 */

describe('faults during a cutover', () => {
  const servers = faultServers('faults');
  const migrate = (cutover: Record<string, unknown> = {}) => migrateWithWriter(servers, cutover);

  it('two cutovers at once: the second exits 2 naming the holder and changes nothing; the first completes, 0 lost', async () => {
    const { m, writer } = await migrate();
    const first = startDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'pause:fence' } });
    await first.line(/dmskit-fault: paused at fence/);
    const second = await runDmskit(['cutover', ...m.args]);
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toMatch(
      /^dmskit: migration m\w+\/staging is locked by dmskit pid \d+ on .+ since \d{4}-/,
    );
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    first.signal('SIGUSR2');
    const done = await first.result;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('The source stays fenced (read-only');
    expect(await writable(m.sourceUrl)).toBe(false);
    await noLoss(m, writer);
    await nothingLeft(m);
  });

  it('a prepared transaction: refused before the fence, named, the source never fenced', async () => {
    const { m, writer } = await migrate();
    // A prepared transaction left behind would hold its locks and block every later test's slot.
    onTestFinished(() =>
      withClient(m.sourceUrl, async (c) => {
        for (const { gid } of (await c.query('SELECT gid FROM pg_prepared_xacts')).rows as { gid: string }[])
          await c.query(`ROLLBACK PREPARED '${gid}'`);
      }),
    );
    await withClient(m.sourceUrl, (c) =>
      c.query("BEGIN; INSERT INTO ledger (op) VALUES (0); PREPARE TRANSACTION 'app_tx_7'"),
    );
    const run = await runDmskit(['cutover', ...m.args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^dmskit: cutover failed at preconditions: .*app_tx_7.*; the source was never fenced$/,
    );
    expect(await writable(m.sourceUrl)).toBe(true);
    await query(m.sourceUrl, "ROLLBACK PREPARED 'app_tx_7'");
    // One prepared while the fence is being put in place: found after it, the fence released.
    const paused = startDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'pause:fence:planned' } });
    await paused.line(/paused at fence:planned/);
    await withClient(m.sourceUrl, (c) =>
      c.query("BEGIN; INSERT INTO ledger (op) VALUES (0); PREPARE TRANSACTION 'app_tx_8'"),
    );
    paused.signal('SIGUSR2');
    const again = await paused.result;
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /prepared transaction\(s\) app_tx_8 appeared while fencing.*the source was unfenced and takes writes again/,
    );
    expect(await writable(m.sourceUrl)).toBe(true);
    await query(m.sourceUrl, "ROLLBACK PREPARED 'app_tx_8'");
    const last = await runDmskit(['cutover', ...m.args]);
    expect(last.code, last.stderr).toBe(0);
    await noLoss(m, writer);
  });

  it('a session that turns itself read-write under the read-only fence cannot write, during the cutover or after it', async () => {
    const { m, writer } = await migrate();
    const run = startDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'pause:fence' } });
    await run.line(/paused at fence/);
    const rogue = await withClientOpen(m.sourceUrl);
    await rogue.query('BEGIN READ WRITE');
    await expect(rogue.query('INSERT INTO ledger (op) VALUES (999999999)')).rejects.toThrow(
      /is fenced for a cutover/,
    );
    await rogue.query('ROLLBACK');
    run.signal('SIGUSR2');
    const done = await run.result;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('a write on each of 2 tables is refused even in a read-write transaction');
    // After dmskit exits, the fence still holds for a session that asks for read-write.
    await rogue.query('SET default_transaction_read_only = off');
    await expect(rogue.query('UPDATE accounts SET balance = 0 WHERE id = 1')).rejects.toThrow(/is fenced/);
    await rogue.end().catch(() => undefined);
    expect(await query(m.sourceUrl, 'SELECT op FROM ledger WHERE op = 999999999')).toEqual([]);
    await noLoss(m, writer);
  });

  it('lock-tables: a write from any session is refused by the fence, which outlives the CLI', async () => {
    const { m, writer } = await migrate({ fenceMethod: 'lock-tables' });
    const run = await runDmskit(['cutover', ...m.args]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'The source stays fenced (lock-tables: a write on each of 2 tables is refused even in a read-write transaction)',
    );
    await expect(
      withClient(m.sourceUrl, async (c) => {
        await c.query('BEGIN READ WRITE');
        await c.query('INSERT INTO ledger (op) VALUES (1)');
      }),
    ).rejects.toThrow(/is fenced for a cutover/);
    await noLoss(m, writer);
    // Falling back fences the target the same way, and unfences the old source.
    const rb = await runDmskit(['rollback', ...m.args]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toContain('The target stays fenced (lock-tables)');
    expect(await writable(m.sourceUrl)).toBe(true);
    await expect(query(m.targetUrl, 'UPDATE accounts SET balance = 0 WHERE id = 1')).rejects.toThrow(
      /is fenced/,
    );
  });

  it('without a fall-back path, rollback after ready refuses without --force and says what would diverge', async () => {
    const { m, writer } = await migrate({ fallback: false });
    const run = await runDmskit(['cutover', ...m.args]);
    expect(run.code, run.stderr).toBe(0);
    const rb = await runDmskit(['rollback', ...m.args]);
    expect(rb.code).toBe(2);
    expect(rb.stderr).toMatch(
      /declared ready at .*writes made on the target since then are not on the source/,
    );
    expect(await writable(m.sourceUrl)).toBe(false);
    await noLoss(m, writer);
  });

  it("a start whose slot name another database's migration holds: exit 2 naming it, the other's slot untouched", async () => {
    const first = await startMigration(servers.source, servers.target, servers.dir, {
      schema: FAULTS_SCHEMA,
      name: 'twin',
    });
    const second = await prepareMigration(servers.source, servers.target, servers.dir, {
      schema: FAULTS_SCHEMA,
      name: 'twin',
      database: 'db_twin_2',
    });
    const run = await runDmskit(['start', ...second.args]);
    expect(run.code).toBe(2);
    expect(lastLine(run.stderr)).toMatch(
      /^dmskit: replication slot dmskit_twin_staging_slot already exists on the source \(database db_twin\), not created by this start/,
    );
    expect(
      await query(first.sourceUrl, 'SELECT database FROM pg_replication_slots WHERE slot_name = $1', [
        first.slot,
      ]),
    ).toEqual([{ database: 'db_twin' }]);
    expect(await query(second.sourceUrl, 'SELECT pubname FROM pg_publication')).toEqual([]);
    const gone = await runDmskit(['abandon', ...first.args]);
    expect(gone.code, gone.stderr).toBe(0);
  });

  it('the network between the servers cut during the proof: the fence is released at once, exit 2, nothing lost', async () => {
    const { m, writer } = await migrate();
    const proxy = await startProxy(servers.source.port);
    try {
      // The subscription reaches the source through the proxy; dmskit's own sessions do not.
      const conninfo = `host=127.0.0.1 port=${proxy.port} dbname=${new URL(m.sourceUrl).pathname.slice(1)} user=postgres password=${servers.source.password}`;
      await query(m.targetUrl, `ALTER SUBSCRIPTION ${m.subscription} CONNECTION '${conninfo}'`);
      await until('the subscription to stream through the proxy', async () => proxy.open() > 0);
      const run = startDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'pause:fence' } });
      await run.line(/paused at fence/);
      proxy.cut();
      const t = Date.now();
      run.signal('SIGUSR2');
      const done = await run.result;
      expect(done.code).toBe(2);
      expect(lastLine(done.stderr)).toMatch(
        /^dmskit: cutover failed at watermark: .*replication.*; the source was unfenced and takes writes again \(default_transaction_read_only of db_\w+ is not set again/,
      );
      expect(Date.now() - t).toBeLessThan(20_000); // not the 30 s of maxFenceSeconds
      expect(await writable(m.sourceUrl)).toBe(true);
      proxy.restore();
      await caughtUp(m, writer);
    } finally {
      await proxy.close();
    }
  });

  it('the network between the servers cut during CDC: status names it, the cutover refuses before fencing, then succeeds once it is back', async () => {
    const { m, writer } = await migrate();
    const proxy = await startProxy(servers.source.port);
    try {
      const conninfo = `host=127.0.0.1 port=${proxy.port} dbname=${new URL(m.sourceUrl).pathname.slice(1)} user=postgres password=${servers.source.password}`;
      await query(m.targetUrl, `ALTER SUBSCRIPTION ${m.subscription} CONNECTION '${conninfo}'`);
      await until('the subscription to stream through the proxy', async () => proxy.open() > 0);
      proxy.cut();
      await until('the walsender to go', async () => {
        const rows = await query(
          m.sourceUrl,
          'SELECT 1 FROM pg_stat_replication WHERE application_name = $1',
          [m.subscription],
        );
        return rows.length === 0;
      });
      const status = await runDmskit(['status', ...m.args]);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/problem: no walsender reads replication slot/);
      const refused = await runDmskit(['cutover', ...m.args]);
      expect(refused.code).toBe(2);
      expect(lastLine(refused.stderr)).toMatch(
        /^dmskit: cutover failed at preconditions: .*no walsender.*; the source was never fenced$/,
      );
      expect(await writable(m.sourceUrl)).toBe(true);
      proxy.restore();
      await until(
        'replication to resume',
        async () => (await runDmskit(['status', ...m.args])).code === 0,
        60_000,
      );
      const run = await runDmskit(['cutover', ...m.args]);
      expect(run.code, run.stderr).toBe(0);
      await noLoss(m, writer);
    } finally {
      await proxy.close();
    }
  });

  // The target crashes during the proof, or the source while fenced (then the fence is released through
  // a new connection once it is back): exit 2 in one line, the source unfenced, nothing lost.
  for (const which of ['target', 'source'] as const) {
    it(`the ${which} crashes (-m immediate) during the proof: exit 2 in one line, the source unfenced, nothing lost`, async () => {
      const { m, writer } = await migrate();
      const run = startDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'pause:fence' } });
      await run.line(/paused at fence/);
      await (which === 'target' ? servers.target : servers.source).restart('immediate');
      run.signal('SIGUSR2');
      const done = await run.result;
      expect(done.code).toBe(2);
      expect(done.stderr).not.toContain('internal error');
      expect(done.stderr).toMatch(/the source was unfenced and takes writes again/);
      expect(await writable(m.sourceUrl)).toBe(true);
      await caughtUp(m, writer);
    });
  }

  it('start killed at each step in turn (pre-data, publication, a copy chunk, full-load, post-data, subscription): each run continues the last, and the cutover then loses nothing', async () => {
    const m = await prepareMigration(servers.source, servers.target, servers.dir, { schema: FAULTS_SCHEMA });
    const writer = startHistoryWriter(m.sourceUrl);
    // One migration killed again and again: every run after the first continues where the last stopped.
    for (const step of [
      'start:pre-data',
      'start:publication',
      'full-load:chunk',
      'start:full-load',
      'start:post-data',
      'start:subscription',
    ]) {
      const killed = await runDmskit(['start', ...m.args], { env: { DMSKIT_FAULT: `kill:${step}` } });
      expect(killed.code, `${step}: ${killed.stderr}`).toBeNull();
    }
    const again = await runDmskit(['start', ...m.args]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('(continued an interrupted start)');
    const cut = await runDmskit(['cutover', ...m.args]);
    expect(cut.code, cut.stderr).toBe(0);
    await noLoss(m, writer);
    await nothingLeft(m);
  });

  it('the source crashes as a rehearsal makes its subscription: it reconnects, goes through, leaves nothing', async () => {
    const [sourceUrl, targetUrl] = await Promise.all([
      createDatabase(servers.source, 'rehearsal_crash'),
      createDatabase(servers.target, 'rehearsal_crash'),
    ]);
    const run = startDmskit(
      [
        'rehearse',
        '--source-url',
        sourceUrl,
        '--target-url',
        targetUrl,
        '--scale',
        '0.05',
        '--cdc-seconds',
        '2',
      ],
      { env: { DMSKIT_FAULT: 'pause:start:subscription' } },
    );
    await run.line(/paused at start:subscription/);
    await servers.source.restart('immediate');
    run.signal('SIGUSR2');
    const done = await run.result;
    // The control sessions are reopened (pg/reconnect.ts) and the subscription reconnects by itself: the
    // rehearsal goes through, validated equal.
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).not.toContain('internal error');
    expect(done.stdout).toContain('Validation: EQUAL');
    // Other tests' migrations replicate on the same servers: only this database's objects count.
    await expectNoReplicationObjects(sourceUrl, targetUrl);
    expect(
      await query(
        sourceUrl,
        'SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())',
      ),
    ).toEqual([]);
    await query(sourceUrl, 'UPDATE products SET price = price WHERE id = 1');
  });
});

describe('faults around the full load and CDC', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', {
        logical: true,
        settings: {
          max_slot_wal_keep_size: '1MB',
          max_wal_size: '32MB',
          min_wal_size: '32MB',
          wal_keep_size: 0,
        },
      }),
      startServer('target', { logical: true }),
    ]);
    dir = await scratchDir('faults-cdc');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('a slot invalidated by max_slot_wal_keep_size: status says so, the cutover refuses before fencing', async () => {
    const m = await startMigration(source, target, dir, { schema: FAULTS_SCHEMA });
    await query(m.targetUrl, `ALTER SUBSCRIPTION ${m.subscription} DISABLE`);
    await until('the slot to be lost', async () => {
      await query(
        m.sourceUrl,
        'INSERT INTO ledger (op) SELECT g FROM generate_series(1, 20000) g; SELECT pg_switch_wal(); CHECKPOINT;',
      );
      const [row] = await query<{ wal_status: string }>(
        m.sourceUrl,
        'SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1',
        [m.slot],
      );
      return row?.wal_status === 'lost';
    });
    await query(m.targetUrl, `ALTER SUBSCRIPTION ${m.subscription} ENABLE`);
    const status = await runDmskit(['status', ...m.args]);
    expect(status.code, status.stderr).toBe(1);
    expect(status.stdout).toMatch(/problem: replication slot \w+ is lost: the WAL it needs was removed/);
    const run = await runDmskit(['cutover', ...m.args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^dmskit: cutover failed at preconditions: .*is lost.*; the source was never fenced$/,
    );
    expect(await query(m.sourceUrl, 'SELECT setconfig FROM pg_db_role_setting')).toEqual([]);
    const gone = await runDmskit(['abandon', ...m.args]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(await query(m.sourceUrl, 'SELECT slot_name FROM pg_replication_slots')).toEqual([]);
    expect(await query(m.targetUrl, 'SELECT subname FROM pg_subscription')).toEqual([]);
  });
});
