import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { chinookSql } from '../helpers/datasets.js';
import { startDebianServer } from '../helpers/debian.js';
import { scratchDir } from '../helpers/scratch.js';
import { createDatabase, type LocalServer, query, startServer, withClient } from '../helpers/servers.js';

type Check = { id: string; severity: string; passed: boolean; found: string; fix: string };

/**
 * catalog, preflight and poc against real servers configured wrongly on purpose: wal_level=replica, a
 * user without the replication privilege, a table without a key, a large bytea, a large object, an
 * extension the target lacks (pltcl: in the embedded build, not in Debian's), a partitioned table, an
 * UNLOGGED table.
 */
describe('operating a migration: catalog, preflight, poc', () => {
  let replica: LocalServer;
  let target: LocalServer;
  let debian: LocalServer | undefined;
  let sourceUrl: string;
  let targetUrl: string;

  beforeAll(async () => {
    [replica, target, debian] = await Promise.all([
      startServer('source'),
      startServer('target'),
      startDebianServer(),
    ]);
    sourceUrl = await createDatabase(replica, 'shop');
    targetUrl = await createDatabase(debian ?? target, 'shop');
    await withClient(sourceUrl, async (c) => {
      await c.query(`CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2), note text);
        INSERT INTO orders SELECT g, g, 'n' FROM generate_series(1, 100) g;
        CREATE TABLE audit_log (at timestamptz DEFAULT now(), what text);
        INSERT INTO audit_log (what) VALUES ('boot');
        CREATE TABLE blobs (id int PRIMARY KEY, data bytea);
        INSERT INTO blobs SELECT 1, decode(string_agg(md5(g::text), '' ORDER BY g), 'hex') FROM generate_series(1, 6400) g;
        CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE UNLOGGED TABLE sessions (id int PRIMARY KEY, data text);
        SELECT lo_from_bytea(0, 'a large object');
        CREATE ROLE app LOGIN PASSWORD 'app-pass-1' NOSUPERUSER NOREPLICATION;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO app;`);
      await c.query('CREATE EXTENSION pltcl').catch(() => undefined);
    });
  });

  afterAll(async () => {
    await Promise.all([replica?.stop(), target?.stop(), debian?.stop()]);
  });

  it('preflight exits 1 and lists every finding by id, with what was found and the fix', async () => {
    const run = await runDmskit(['preflight', '--source', sourceUrl, '--target', targetUrl, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as { checks: Check[]; ready: boolean };
    const failed = Object.fromEntries(report.checks.filter((c) => !c.passed).map((c) => [c.id, c]));
    expect(report.ready).toBe(false);
    expect(failed['wal-level']).toMatchObject({ severity: 'error', found: 'wal_level = replica' });
    expect(failed['wal-level']?.fix).toContain('wal_level = logical');
    expect(failed['replica-identity']).toMatchObject({
      severity: 'error',
      found: '1 table(s) without: public.audit_log',
    });
    expect(failed['unlogged-tables']).toMatchObject({
      severity: 'error',
      found: '1 UNLOGGED table(s): public.sessions',
    });
    expect(failed['unlogged-tables']?.fix).toContain('exclude them in task.tableMappings');
    expect(failed['lob-size']?.found).toContain('largest value 100 KB in public.blobs.data');
    expect(failed['large-objects']).toMatchObject({
      severity: 'warning',
      found: '1 large object(s) in pg_largeobject',
    });
    expect(failed['partitioned-tables']?.found).toContain('public.events');
    if (debian)
      expect(failed.extensions).toMatchObject({
        severity: 'error',
        found: 'not available on the target: pltcl',
      });
    expect(report.checks.find((c) => c.id === 'connectivity-target')?.passed).toBe(true);
    // The fall-back path (on by default): the target must publish back to the old source.
    expect(failed['fallback-target-logical']).toMatchObject({
      severity: 'error',
      found: 'wal_level = replica',
    });
    expect(failed['fallback-target-logical']?.fix).toContain('rds.logical_replication = 1');
    expect(report.checks.find((c) => c.id === 'fallback-source-subscribe')?.passed).toBe(true);
    expect(report.checks.find((c) => c.id === 'fallback-target-replication')?.passed).toBe(true);
    expect(run.stdout).not.toContain(replica.password);
  });

  it('preflight names a user without the replication privilege, and prints Markdown for people', async () => {
    const appUrl = sourceUrl.replace(/\/\/postgres:[^@]+@/, '//app:app-pass-1@');
    const run = await runDmskit(['preflight', '--source', appUrl]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /\| :x: \| replication-privilege \| app has neither REPLICATION nor rds_replication \| ALTER ROLE app WITH REPLICATION/,
    );
    expect(run.stdout).toContain('**Not ready**');
  });

  it('preflight passes a source that is ready (exit 0)', async () => {
    const logical = await startServer('ready', { logical: true });
    try {
      const url = await createDatabase(logical, 'ok');
      await query(url, 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, $$x$$)');
      const run = await runDmskit(['preflight', '--source', url, '--json']);
      const report = JSON.parse(run.stdout) as { checks: Check[] };
      expect(report.checks.filter((c) => !c.passed && c.severity === 'error')).toEqual([]);
      expect(run.code).toBe(0);
    } finally {
      await logical.stop();
    }
  });

  it('catalog inventories every database and keeps what people filled in', async () => {
    const dir = await scratchDir('catalog');
    const file = path.join(dir, 'catalog.json');
    const first = await runDmskit(['catalog', '--source', sourceUrl, '--out', file]);
    expect(first.code, first.stderr).toBe(0);
    const catalog = JSON.parse(await readFile(file, 'utf8'));
    const shop = catalog.databases.find((d: { name: string }) => d.name === 'shop');
    expect(shop).toMatchObject({
      present: true,
      tableCount: 5,
      largeObjects: 1,
      tablesWithoutPrimaryKey: ['public.audit_log'],
      unloggedTables: ['public.sessions'],
      partitionedTables: ['public.events'],
      applicationOwner: null,
      migrationWave: null,
    });
    expect(shop.lobColumns).toEqual(
      expect.arrayContaining([
        { column: 'public.blobs.data', type: 'bytea' },
        { column: 'public.orders.note', type: 'text' },
      ]),
    );
    expect(shop.largestTables[0].table).toBe('public.blobs');
    // What task.shards balances by and task.splitLargest cuts: each table's size, an integer key's range.
    const orders = shop.tables.find((t: { table: string }) => t.table === 'orders');
    expect(orders).toMatchObject({ keyRange: { column: 'id', min: '1', max: '100' } });
    expect(orders.bytes).toBeGreaterThanOrEqual(8192);
    const events = shop.tables.find((t: { table: string }) => t.table === 'events_2026');
    expect(events.keyRange).toBeUndefined(); // a two-column key is not cut
    expect(shop.tables.find((t: { table: string }) => t.table === 'audit_log').keyRange).toBeUndefined();
    expect(catalog.server.postgresVersion).toMatch(/^15\./);
    shop.applicationOwner = 'checkout team';
    shop.migrationWave = 'wave-2';
    await writeFile(file, JSON.stringify(catalog));
    await query(sourceUrl, 'CREATE TABLE added_later (id int PRIMARY KEY)');
    const second = await runDmskit(['catalog', '--source', sourceUrl, '--out', file]);
    expect(second.code).toBe(0);
    const merged = JSON.parse(await readFile(file, 'utf8')).databases.find(
      (d: { name: string }) => d.name === 'shop',
    );
    expect(merged).toMatchObject({
      applicationOwner: 'checkout team',
      migrationWave: 'wave-2',
      tableCount: 6,
    });
  });

  it('poc copies a database with pg_dump -Fc and pg_restore -j, times each phase, validates, and says it needs downtime', async () => {
    const [from, to] = await Promise.all([
      createDatabase(replica, 'chinook'),
      createDatabase(target, 'chinook'),
    ]);
    await query(from, await chinookSql());
    const run = await runDmskit(['poc', '--source', from, '--target', to, '--compress', '3', '--jobs', '2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('needs downtime');
    for (const phase of ['dump ', 'restore ', 'analyze ', 'validate ']) expect(run.stdout).toContain(phase);
    expect(run.stdout).toContain('EQUAL');
    expect(run.stdout).toMatch(/restore\s+(\d+m )?[\d.]+m?s \(-j 2\)/);
  });
});
