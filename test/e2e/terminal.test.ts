import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit, startDmskit } from '../helpers/cli.js';
import { prepareMigration, startMigration, type TestMigration } from '../helpers/migration.js';
import { type LocalServer, query, startPair, startServer, stopPair } from '../helpers/servers.js';
import { inTerminal } from '../helpers/terminal.js';

// Interruptions as people cause them, in a real terminal (tmux): a window closed under a running
// command, Ctrl-C typed into it. What is said about the source afterwards is read back from it.

const SCHEMA = `
CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 500) g;`;

async function readOnlySetting(url: string): Promise<string | null> {
  const rows = await query<{ v: string | null }>(
    url,
    `SELECT (SELECT s FROM unnest(setconfig) s WHERE s LIKE 'default_transaction_read_only=%') AS v
       FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return rows[0]?.v ?? null;
}

describe('a terminal closed or interrupted under a running command', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;
  beforeAll(async () => {
    ({ source, target, dir } = await startPair('terminal-test'));
  });
  afterAll(() => stopPair({ source, target }));

  for (const redirectStderr of [false, true]) {
    it(`cutover at the fence, its terminal closed${redirectStderr ? ' (stderr redirected to a file)' : ''}: the fence is released within seconds, no abort, status says so`, async () => {
      const m: TestMigration = await startMigration(source, target, dir, { schema: SCHEMA });
      const term = await inTerminal(['cutover', ...m.args], {
        env: { DMSKIT_FAULT: 'pause:fence' },
        redirectStderr,
      });
      try {
        await term.waitFor(/paused at fence/);
        expect(await readOnlySetting(m.sourceUrl)).toBe('default_transaction_read_only=on');
        term.close();
        const done = await term.exit(30_000);
        expect(done.signal, await term.stderr()).toBeNull();
        expect(done.code).toBe(130);
        expect(done.ms).toBeLessThan(10_000);
        expect(await term.stderr()).not.toMatch(/Assertion failed|internal error/);
        // Read back on the server, not taken from dmskit's word.
        expect(await readOnlySetting(m.sourceUrl)).toBeNull();
        await query(m.sourceUrl, 'UPDATE accounts SET balance = balance + 1 WHERE id = 1');
        const status = await runDmskit(['status', ...m.args]);
        expect(status.stdout).not.toMatch(/is fenced since/);
        expect(status.stdout).toMatch(/replicat|lag/);
      } finally {
        await term.dispose();
      }
    });
  }

  it('cutover killed at the fence (SIGKILL): status reads the fence back and names the dead run; rollback releases it', async () => {
    const m = await startMigration(source, target, dir, { schema: SCHEMA });
    const killed = await runDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'kill:fence' } });
    expect(killed.code).toBeNull();
    const status = await runDmskit(['status', ...m.args]);
    expect(status.code, status.stdout + status.stderr).toBe(1);
    expect(status.stdout).toMatch(
      /problem: the source is fenced since \S+ \(read back: default_transaction_read_only of \w+ is on\) by a cutover that is no longer running: dmskit rollback/,
    );
    expect(status.stdout).toMatch(/is no longer running/);
    // Found on the servers by name, not taken from the record.
    expect(status.stdout).toMatch(/on the source now: .*_fence on \d+ table\(s\).*the read-only fence/);
    expect(status.stdout).toMatch(/on the target now: subscription \w+/);
    const rolled = await runDmskit(['rollback', ...m.args]);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(await readOnlySetting(m.sourceUrl)).toBeNull();
    const after = await runDmskit(['status', ...m.args]);
    expect(after.stdout).not.toMatch(/fenced since/);
  });

  it('start killed during the full load: status says interrupted (no ETA) and which command goes on; start continues', async () => {
    // A migration of its own, killed as the full load begins.
    const k = await prepareMigration(source, target, dir, { schema: SCHEMA });
    const killed = await runDmskit(['start', ...k.args], { env: { DMSKIT_FAULT: 'kill:start:ddl-capture' } });
    expect(killed.code).toBeNull();
    const status = await runDmskit(['status', ...k.args]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(
      /problem: interrupted .*is no longer running\): dmskit start continues it, dmskit abandon removes what it created/,
    );
    expect(status.stdout).not.toMatch(/ETA/);
    expect(status.stdout).toMatch(/on the source now: .*publication \w+_pub/);
    const again = await runDmskit(['start', ...k.args]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/continued an interrupted start/);
  });

  it("an open transaction in another database of the target holds the fall-back slot's creation: said with its pid, cancelled at SIGTERM, the source never fenced", async () => {
    const m = await startMigration(source, target, dir, { schema: SCHEMA });
    const blocker = new pg.Client({ connectionString: target.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      const { pid } = (await blocker.query('SELECT pg_backend_pid() AS pid, txid_current()')).rows[0] as {
        pid: number;
      };
      const run = startDmskit(['cutover', ...m.args], { detached: true });
      const line = await run.line(/waiting for transaction pid \d+ in database postgres/);
      expect(line).toContain(`pid ${pid}`);
      const t = Date.now();
      run.signal('SIGTERM');
      const done = await run.result;
      expect(done.code, done.stderr).toBe(130);
      expect(Date.now() - t).toBeLessThan(5000);
      expect(done.stderr).not.toMatch(/fenced since|still fenced/);
      expect(await readOnlySetting(m.sourceUrl)).toBeNull();
      // Nothing of dmskit still waits on the target.
      const waiting = await query(
        target.url,
        "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_create_logical_replication_slot%' AND pid <> pg_backend_pid()",
      );
      expect(waiting).toEqual([]);
    } finally {
      await blocker.end();
    }
    const again = await runDmskit(['cutover', ...m.args]);
    expect(again.code, again.stderr).toBe(0);
  });

  it("the source restarted (pg_ctl restart -m fast) during a rehearsal's CDC: it reconnects, says so, and goes through", async () => {
    const db = 'shop_restart';
    await query(source.url, `CREATE DATABASE ${db}`);
    await query(target.url, `CREATE DATABASE ${db}`);
    const run = startDmskit([
      'rehearse',
      '--source-url',
      source.urlFor(db),
      '--target-url',
      target.urlFor(db),
      '--scale',
      '0.05',
      '--cdc-seconds',
      '8',
      '--state-dir',
      path.join(dir, 'restart-state'),
      '-o',
      path.join(dir, 'restart-out'),
    ]);
    await run.line(/CDC: replicating live changes/);
    await source.restart('fast', { downMs: 1500 });
    const done = await run.result;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/lost the connection to a server .*: reconnecting/);
    expect(done.stderr).toMatch(/reconnected after [\d.]+ s/);
    expect(done.stdout).toMatch(/EQUAL/i);
  });

  it('rehearse on its own servers, Ctrl-C typed during CDC: prompt back in under 5 s, a true message, no server or folder left', async () => {
    const out = path.join(dir, 'rehearsal');
    const term = await inTerminal(['rehearse', '--scale', '0.05', '--cdc-seconds', '120', '-o', out]);
    try {
      await term.waitFor(/CDC: replicating live changes/, 120_000);
      // The rehearsal's own servers' folders: named by its pid.
      const pid = await term.pid();
      const theirs = async () =>
        (await readdir(tmpdir())).filter((n) => new RegExp(`^dmskit-(source|target)-${pid}-`).test(n));
      const before = await theirs();
      expect(before.length).toBeGreaterThanOrEqual(2);
      term.keys('C-c');
      const done = await term.exit(30_000);
      expect(done.code, term.screen()).toBe(130);
      expect(done.ms).toBeLessThan(5000);
      expect(term.screen()).toMatch(/dmskit: interrupted by SIGINT/);
      expect(term.screen()).not.toMatch(/could not remove|run by hand/);
      expect((await theirs()).filter((n) => before.includes(n))).toEqual([]);
    } finally {
      await term.dispose();
    }
  });
});

describe('servers destroyed and made again at the same address', () => {
  it('start refuses the records of the old servers naming both, abandon drops them, start then runs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-recreated-'));
    let source = await startServer('source', { logical: true });
    let target = await startServer('target', { logical: true });
    try {
      const m = await startMigration(source, target, dir, { schema: SCHEMA, database: 'shop' });
      // Both servers destroyed (data folders removed) and made again: same ports, same password.
      const [oldSource, oldTarget] = [source, target];
      await Promise.all([oldSource.stop(), oldTarget.stop()]);
      source = await startServer('source', { logical: true, sameAs: oldSource });
      target = await startServer('target', { logical: true, sameAs: oldTarget });
      await query(source.url, 'CREATE DATABASE shop');
      await query(target.url, 'CREATE DATABASE shop');
      await query(m.sourceUrl, SCHEMA);
      for (const command of ['start', 'cutover']) {
        const refused = await runDmskit([command, ...m.args]);
        expect(refused.code, refused.stderr).toBe(2);
        expect(refused.stderr).toMatch(
          /was made on other servers: the source 127\.0\.0\.1:\d+\/shop was system \d+, database OID \d+ and is system \d+, database OID \d+; the target .* run dmskit abandon/,
        );
      }
      const abandoned = await runDmskit(['abandon', ...m.args]);
      expect(abandoned.code, abandoned.stderr).toBe(0);
      expect(abandoned.stdout).toMatch(/record is of other servers .*dropped, not applied/);
      const started = await runDmskit(['start', ...m.args]);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).not.toMatch(/continued an interrupted start/);
      expect(await query(m.targetUrl, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 500 }]);
      await runDmskit(['abandon', ...m.args]);
    } finally {
      await Promise.all([source.stop(), target.stop()]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
