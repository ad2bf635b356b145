import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DatabaseMigrationServiceClient,
  DescribeReplicationTasksCommand,
  ModifyReplicationTaskCommand,
  StartReplicationTaskCommand,
} from '@aws-sdk/client-database-migration-service';
import {
  abandonCommand,
  prepareCdcStartPoint,
  resolveDmsSlot,
  resolveDmsSlots,
  startDmsCommand,
} from '@dmskit/ops-cli';
import { parseMigrationConfig } from '@dmskit/shared';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { minimalConfig } from '../helpers/configs.js';
import { scratchDir } from '../helpers/scratch.js';
import { createDatabase, type LocalServer, query, startServer } from '../helpers/servers.js';

const config = (migrationType: 'cdc' | 'full-load-and-cdc', plugin = 'no-preference') =>
  parseMigrationConfig(minimalConfig({ replicationInstance: { plugin }, task: { migrationType } })).config;

describe('the DMS task’s replication slot on a real source', () => {
  let server: LocalServer;
  let url: string;
  let client: pg.Client;
  beforeAll(async () => {
    server = await startServer('source', { logical: true });
    url = await createDatabase(server, 'shop');
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });
  const slots = async () =>
    (await query<{ slot_name: string }>(url, 'SELECT slot_name FROM pg_replication_slots ORDER BY 1')).map(
      (r) => r.slot_name,
    );

  it('a CDC-only task: the slot is created once with the plugin DMS will use, and its LSN is the native start point', async () => {
    const first = await prepareCdcStartPoint(client, config('cdc'));
    expect(first).toMatchObject({ slot: 'dmskit_shop_prod_dms', created: true });
    expect(first.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const [row] = await query<{ plugin: string; lsn: string }>(
      url,
      "SELECT plugin, confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'dmskit_shop_prod_dms'",
    );
    expect(row).toEqual({ plugin: 'test_decoding', lsn: first.lsn });
    // Run again (a start retried): the same slot and point, nothing new.
    expect(await prepareCdcStartPoint(client, config('cdc'))).toEqual({ ...first, created: false });
    expect(await resolveDmsSlot(client, config('cdc'))).toBe('dmskit_shop_prod_dms');
    // A slot of another plugin under that name is not silently reused.
    await expect(prepareCdcStartPoint(client, config('cdc', 'pglogical'))).rejects.toThrowError(
      'replication slot dmskit_shop_prod_dms on the source uses test_decoding, not pglogical: drop it or set replicationInstance.plugin',
    );
    await query(url, "SELECT pg_drop_replication_slot('dmskit_shop_prod_dms')");
  });

  it('dmskit start of a CDC-only task whose StartReplicationTask fails leaves no slot behind on the source', async () => {
    const dir = await scratchDir('cdc-start');
    const file = path.join(dir, 'cdc.json');
    await writeFile(file, JSON.stringify(minimalConfig({ task: { migrationType: 'cdc' } })));
    const dms = mockClient(DatabaseMigrationServiceClient);
    // The task as DMS describes it: the start position the start gives it (ModifyReplicationTask) shows.
    let position: string | undefined;
    const described = () => ({
      ReplicationTaskIdentifier: 'shop-prod-task',
      ReplicationTaskArn: 'arn:aws:dms:us-east-1:123456789012:task:T',
      MigrationType: 'cdc',
      Status: 'ready',
      ...(position ? { CdcStartPosition: position } : {}),
    });
    dms.on(DescribeReplicationTasksCommand).callsFake(() => ({ ReplicationTasks: [described()] }));
    dms.on(ModifyReplicationTaskCommand).callsFake((input: { CdcStartPosition?: string }) => {
      position = input.CdcStartPosition;
      return { ReplicationTask: { ...described(), Status: 'modifying' } };
    });
    dms.on(StartReplicationTaskCommand).rejects(
      Object.assign(new Error('Replication slot dmskit_shop_prod_dms is not valid'), {
        name: 'InvalidResourceStateFault',
      }),
    );
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(
        startDmsCommand({
          cwd: dir,
          config: 'cdc.json',
          mode: 'start',
          sourceUrl: url,
          timeout: 60_000,
          pollMs: 1,
        }),
      ).rejects.toThrowError(/is not valid/);
      // The task was given the slot's LSN as its start point before the start.
      expect(position).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(
        'dropped replication slot dmskit_shop_prod_dms again: the task did not start',
      );
    } finally {
      stderr.mockRestore();
      dms.restore();
    }
    expect(await slots()).toEqual([]);
    // Its record went with it.
    expect(existsSync(path.join(dir, '.dmskit/dms-slot-shop-prod.json'))).toBe(false);

    // A start killed after creating the slot left it and its record: abandon finds it by the record.
    await mkdir(path.join(dir, '.dmskit'), { recursive: true });
    await writeFile(
      path.join(dir, '.dmskit/dms-slot-shop-prod.json'),
      JSON.stringify({
        version: 1,
        migration: 'shop/prod',
        slot: 'dmskit_shop_prod_dms',
        steps: { recorded: new Date().toISOString() },
      }),
    );
    await query(url, "SELECT pg_create_logical_replication_slot('dmskit_shop_prod_dms', 'test_decoding')");
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await abandonCommand({ cwd: dir, config: 'cdc.json', sourceUrl: url });
    } finally {
      out.mockRestore();
    }
    expect(await slots()).toEqual([]);
    expect(existsSync(path.join(dir, '.dmskit/dms-slot-shop-prod.json'))).toBe(false);
    await query(url, 'DROP SCHEMA IF EXISTS dmskit CASCADE');
  });

  it('a full-load-and-cdc task: the slot DMS created is found among the source’s logical slots, never one of dmskit’s own', async () => {
    await expect(resolveDmsSlot(client, config('full-load-and-cdc'))).rejects.toThrowError(
      'no DMS replication slot on the source database shop: the task has not started CDC yet (dmskit start)',
    );
    await query(url, "SELECT pg_create_logical_replication_slot('dmskit_shop_prod_slot', 'pgoutput')");
    await query(url, "SELECT pg_create_logical_replication_slot('dmskit_shop_prod_other', 'test_decoding')");
    await query(url, "SELECT pg_create_logical_replication_slot('mu7txq2w_00016402_5a1b', 'test_decoding')");
    expect(await resolveDmsSlot(client, config('full-load-and-cdc'))).toBe('mu7txq2w_00016402_5a1b');
    await query(url, "SELECT pg_create_logical_replication_slot('zz_stale_dms', 'test_decoding')");
    await expect(resolveDmsSlot(client, config('full-load-and-cdc'))).rejects.toThrowError(
      "several logical slots on the source could be the DMS task's (mu7txq2w_00016402_5a1b, zz_stale_dms): drop the ones no task uses",
    );
    for (const s of await slots()) await query(url, 'SELECT pg_drop_replication_slot($1)', [s]);
    expect(await slots()).toEqual([]);
  });

  it('a split migration (task.shards): a start that fails leaves its watermark tables recorded, and abandon removes them by the record', async () => {
    const dir = await scratchDir('shards-start');
    await writeFile(
      path.join(dir, 'big.json'),
      JSON.stringify(minimalConfig({ task: { shards: 2, sourceCatalogFile: 'catalog.json' } })),
    );
    const dms = mockClient(DatabaseMigrationServiceClient);
    dms.on(DescribeReplicationTasksCommand).resolves({
      ReplicationTasks: [1, 2].map((i) => ({
        ReplicationTaskIdentifier: `shop-prod-task-${i}`,
        ReplicationTaskArn: `arn:aws:dms:us-east-1:123456789012:task:T${i}`,
        MigrationType: 'full-load-and-cdc',
        Status: 'ready',
      })),
    });
    dms.on(StartReplicationTaskCommand).rejects(
      Object.assign(new Error('Test connection for the source endpoint failed'), {
        name: 'InvalidResourceStateFault',
      }),
    );
    const quiet = [
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true),
    ];
    const tables = () =>
      query<{ t: string }>(
        url,
        "SELECT relname AS t FROM pg_class WHERE relkind = 'r' AND relname LIKE 'dmskit\\_shop\\_prod\\_watermark%' ORDER BY 1",
      ).then((rows) => rows.map((r) => r.t));
    try {
      await expect(
        startDmsCommand({
          cwd: dir,
          config: 'big.json',
          mode: 'start',
          sourceUrl: url,
          timeout: 60_000,
          pollMs: 1,
        }),
      ).rejects.toThrowError(/Test connection for the source endpoint failed/);
      expect(await tables()).toEqual(['dmskit_shop_prod_watermark_1', 'dmskit_shop_prod_watermark_2']);
      expect(existsSync(path.join(dir, '.dmskit/dms-watermarks-shop-prod.json'))).toBe(true);
      await abandonCommand({ cwd: dir, config: 'big.json', sourceUrl: url });
    } finally {
      for (const q of quiet) q.mockRestore();
      dms.restore();
    }
    expect(await tables()).toEqual([]);
    expect(existsSync(path.join(dir, '.dmskit/dms-watermarks-shop-prod.json'))).toBe(false);
    // Nothing else of dmskit's was in its schema: the schema went too.
    expect(await query(url, "SELECT 1 FROM pg_namespace WHERE nspname = 'dmskit'")).toEqual([]);
  });

  it('a split migration finds one DMS slot per task, or says how many are missing', async () => {
    const big = parseMigrationConfig(
      minimalConfig({ task: { shards: 3, sourceCatalogFile: 'catalog.json' } }),
    ).config;
    await query(url, "SELECT pg_create_logical_replication_slot('aaaa_00016402_1', 'test_decoding')");
    await expect(resolveDmsSlots(client, big)).rejects.toThrowError(
      '1 of 3 DMS replication slots on the source database shop: not every task has started CDC yet (dmskit start)',
    );
    await query(url, "SELECT pg_create_logical_replication_slot('bbbb_00016402_2', 'test_decoding')");
    await query(url, "SELECT pg_create_logical_replication_slot('cccc_00016402_3', 'test_decoding')");
    expect(await resolveDmsSlots(client, big)).toEqual([
      'aaaa_00016402_1',
      'bbbb_00016402_2',
      'cccc_00016402_3',
    ]);
    for (const s of await slots()) await query(url, 'SELECT pg_drop_replication_slot($1)', [s]);
  });
});
