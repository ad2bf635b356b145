import path from 'node:path';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DatabaseMigrationServiceClient } from '@aws-sdk/client-database-migration-service';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { start, stop } from '../commands/dms.js';
import { testConfig } from '../config.testkit.js';
import { dmsCutoverEngine } from './engine.js';
import { type DmsFake, dmsFake, dmsFakeTasks } from './fake.testkit.js';
import { startTask, stopTask } from './operations.js';
import { findTasks, waitForTask } from './task.js';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const client = new DatabaseMigrationServiceClient({ region: 'eu-west-1', maxAttempts: 1 });
const wait = { timeoutMs: 10_000, pollMs: 1 };

describe('the DMS task through a stateful fake: statuses that move over time, stale reads, throttling, failures', () => {
  let fake: DmsFake | undefined;
  let out = '';
  beforeEach(() => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    fake?.restore();
    fake = undefined;
    vi.restoreAllMocks();
  });

  it('dmskit stop then dmskit start --mode resume: each waits through the stale read, the transitional status and the end', async () => {
    fake = dmsFake({ initial: 'running', lagSteps: 2, stopSteps: 3, startSteps: 3 });
    await stop({ cwd: repoRoot, config: 'migrations/ecommerce.ts', timeout: 60_000, pollMs: 1 });
    expect(fake.task().Status).toBe('stopped');
    expect(out).toBe('ecommerce-staging-task: stopped\n');
    // The reads right after the call still said running; that was "not yet", not an error.
    expect(fake.described.slice(0, 2)).toEqual(['running', 'running']);
    expect(fake.described).toContain('stopping');
    await start({
      cwd: repoRoot,
      config: 'migrations/ecommerce.ts',
      mode: 'resume',
      timeout: 60_000,
      pollMs: 1,
    });
    expect(fake.starts).toEqual(['resume-processing']);
    expect(fake.task().Status).toBe('running');
    expect(out).toContain('ecommerce-staging-task: running\n');
    // Stopping a stopped task again calls nothing.
    await stop({ cwd: repoRoot, config: 'migrations/ecommerce.ts', timeout: 60_000, pollMs: 1 });
    await stop({ cwd: repoRoot, config: 'migrations/ecommerce.ts', timeout: 60_000, pollMs: 1 });
    expect(fake.stops()).toBe(2);
  });

  it('throttled reads back off and the wait still ends at the right status', async () => {
    fake = dmsFake({ initial: 'stopped', throttleEvery: 2, startSteps: 4, lagSteps: 1 });
    const t = await startTask(client, fake.task(), 'resume', wait);
    expect(t.Status).toBe('running');
  });

  it('a task that fails while starting is an error with DMS’s reason, not a success', async () => {
    fake = dmsFake({
      initial: 'stopped',
      startSteps: 2,
      lagSteps: 0,
      failAfter: 0,
      failure: 'Error in slot: replication slot does not exist',
    });
    await expect(startTask(client, fake.task(), 'resume', wait)).rejects.toThrowError(
      'replication task ecommerce-staging-task failed: Error in slot: replication slot does not exist',
    );
  });

  it('a wait that never sees the end gives up at the timeout, naming the last status it saw', async () => {
    fake = dmsFake({ initial: 'stopped', startSteps: 10_000, lagSteps: 0 });
    await expect(startTask(client, fake.task(), 'resume', { timeoutMs: 50, pollMs: 5 })).rejects.toThrowError(
      /did not reach running within 0 s \(last status: starting\)/,
    );
  });

  it('the cutover engine stops replication and resumes it through the same transitions', async () => {
    fake = dmsFake({ initial: 'running', lagSteps: 1 });
    const cw = mockClient(CloudWatchClient);
    cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [] });
    const config = testConfig({ name: 'ecommerce', environment: 'staging', aws: { region: 'eu-west-1' } });
    const engine = dmsCutoverEngine({
      client,
      cloudwatch: new CloudWatchClient({ region: 'eu-west-1', maxAttempts: 1 }),
      config,
      source: {} as never,
      slot: 'abc_dms_slot',
      pollMs: 1,
    });
    await engine.stopReplication();
    expect(fake.task().Status).toBe('stopped');
    await engine.resumeReplication();
    expect(fake.task().Status).toBe('running');
    expect(fake.starts).toEqual(['resume-processing']);
    cw.restore();
  });

  it('stopTask on a task DMS still shows running after the stop call does not call stop twice', async () => {
    fake = dmsFake({ initial: 'running', lagSteps: 3, stopSteps: 1 });
    await stopTask(client, fake.task(), wait);
    expect(fake.stops()).toBe(1);
    expect(await waitForTask(client, fake.task().ReplicationTaskArn!, ['stopped'], wait)).toMatchObject({
      Status: 'stopped',
    });
  });
});

describe('a migration split into several DMS tasks (task.shards): the cutover drives every task', () => {
  const config = testConfig({
    name: 'ecommerce',
    environment: 'staging',
    aws: { region: 'eu-west-1' },
    task: { shards: 3, sourceCatalogFile: 'catalog.json' },
  });
  const ids = ['ecommerce-staging-task-1', 'ecommerce-staging-task-2', 'ecommerce-staging-task-3'];

  it('stops and resumes all three tasks (each through its own stale reads), and names every one', async () => {
    const fakes = dmsFakeTasks(ids, { initial: 'running', lagSteps: 1, stopSteps: 2, startSteps: 3 });
    try {
      const engine = dmsCutoverEngine({
        client,
        cloudwatch: new CloudWatchClient({ region: 'eu-west-1', maxAttempts: 1 }),
        config,
        source: {} as never,
        slots: ['slot_a', 'slot_b', 'slot_c'],
        pollMs: 1,
      });
      expect(engine.watermarkTables).toEqual([
        'dmskit_ecommerce_staging_watermark_1',
        'dmskit_ecommerce_staging_watermark_2',
        'dmskit_ecommerce_staging_watermark_3',
      ]);
      expect(engine.describe().stop).toBe(
        'DMS: StopReplicationTask ecommerce-staging-task-1, ecommerce-staging-task-2, ecommerce-staging-task-3, wait until stopped',
      );
      expect(engine.describe().finish).toContain("pg_drop_replication_slot('slot_c')");
      await engine.stopReplication();
      expect(fakes.tasks.map((f) => f.task().Status)).toEqual(['stopped', 'stopped', 'stopped']);
      await engine.resumeReplication();
      expect(fakes.tasks.map((f) => f.task().Status)).toEqual(['running', 'running', 'running']);
      expect(fakes.tasks.map((f) => f.starts)).toEqual([
        ['resume-processing'],
        ['resume-processing'],
        ['resume-processing'],
      ]);
    } finally {
      fakes.restore();
    }
  });

  it('dmskit stop on a config whose stack lacks a task names the missing one', async () => {
    const fakes = dmsFakeTasks(ids.slice(0, 2), { initial: 'running' });
    try {
      await expect(
        findTasks(new DatabaseMigrationServiceClient({ region: 'eu-west-1', maxAttempts: 1 }), config),
      ).rejects.toThrowError(
        'replication task ecommerce-staging-task-3 not found: deploy the stack first (dmskit plan, then cdktf deploy)',
      );
    } finally {
      fakes.restore();
    }
  });
});
