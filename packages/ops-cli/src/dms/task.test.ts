import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DatabaseMigrationServiceClient,
  DescribeConnectionsCommand,
  DescribeReplicationTaskAssessmentRunsCommand,
  DescribeReplicationTaskIndividualAssessmentsCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ModifyReplicationTaskCommand,
  type ReplicationTask,
  ResourceNotFoundFault,
  StartReplicationTaskAssessmentRunCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { testConfig } from '../config.testkit.js';
import { dmsCutoverEngine } from './engine.js';
import { assess, startTask, stopTask, taskStatus, testConnections } from './operations.js';
import { findTask, taskResourceId, waitForTask } from './task.js';

// Response shapes from the DMS API reference (DescribeReplicationTasks, DescribeTableStatistics, ...).
const ARN = 'arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const task = (status: string, extra: Record<string, unknown> = {}): ReplicationTask => ({
  ReplicationTaskIdentifier: 'ecommerce-staging-task',
  ReplicationTaskArn: ARN,
  SourceEndpointArn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:SRC',
  TargetEndpointArn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:TGT',
  ReplicationInstanceArn: 'arn:aws:dms:eu-west-1:123456789012:rep:INST',
  MigrationType: 'full-load-and-cdc' as const,
  Status: status,
  ReplicationTaskStats: {
    FullLoadProgressPercent: 100,
    TablesLoaded: 2,
    TablesLoading: 0,
    TablesQueued: 0,
    TablesErrored: 0,
  },
  ...extra,
});
const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

const config = testConfig({
  name: 'ecommerce',
  environment: 'staging',
  aws: { region: 'eu-west-1' },
  sourceFields: { host: 'db' },
});

const dms = mockClient(DatabaseMigrationServiceClient);
const cw = mockClient(CloudWatchClient);
const client = new DatabaseMigrationServiceClient({ region: 'eu-west-1', maxAttempts: 1 });
const cloudwatch = new CloudWatchClient({ region: 'eu-west-1', maxAttempts: 1 });

beforeEach(() => {
  dms.reset();
  cw.reset();
});

describe('finding the task by the name the stack gave it', () => {
  it('filters by replication-task-id', async () => {
    dms
      .on(DescribeReplicationTasksCommand, {
        Filters: [{ Name: 'replication-task-id', Values: ['ecommerce-staging-task'] }],
        WithoutSettings: true,
      })
      .resolves({ ReplicationTasks: [task('running')] });
    expect((await findTask(client, config)).ReplicationTaskArn).toBe(ARN);
  });

  it('a missing task is a usage error that says to deploy', async () => {
    dms
      .on(DescribeReplicationTasksCommand)
      .rejects(
        new ResourceNotFoundFault({ message: 'No Tasks found matching provided filters', $metadata: {} }),
      );
    await expect(findTask(client, config)).rejects.toThrowError(
      'replication task ecommerce-staging-task not found: deploy the stack first',
    );
  });

  it('takes the CloudWatch dimension from the ARN', () => {
    expect(taskResourceId(ARN)).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ');
  });
});

describe('waiting through transitional states', () => {
  it('waits through a slow stopping, and throttling, until stopped', async () => {
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [task('stopping')] })
      .rejectsOnce(throttled())
      .resolvesOnce({ ReplicationTasks: [task('stopping')] })
      .resolvesOnce({ ReplicationTasks: [task('stopping')] })
      .resolves({ ReplicationTasks: [task('stopped')] });
    const seen: string[] = [];
    const t = await waitForTask(client, ARN, ['stopped'], {
      timeoutMs: 10_000,
      pollMs: 1,
      onStatus: (s) => seen.push(s),
    });
    expect(t.Status).toBe('stopped');
    expect(seen).toEqual(['stopping', 'stopped']);
    expect(dms.commandCalls(DescribeReplicationTasksCommand)).toHaveLength(5);
  });

  it('a task that fails reports its last failure message', async () => {
    dms.on(DescribeReplicationTasksCommand).resolves({
      ReplicationTasks: [
        task('failed', { LastFailureMessage: 'Error in slot: replication slot "dmskit" does not exist' }),
      ],
    });
    await expect(waitForTask(client, ARN, ['running'], { timeoutMs: 1000, pollMs: 1 })).rejects.toThrowError(
      'replication task ecommerce-staging-task failed: Error in slot: replication slot "dmskit" does not exist',
    );
  });

  it('gives up after the timeout, naming the last status', async () => {
    dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [task('starting')] });
    await expect(waitForTask(client, ARN, ['running'], { timeoutMs: 30, pollMs: 5 })).rejects.toThrowError(
      /did not reach running within 0 s \(last status: starting\)/,
    );
  });
});

describe('start and stop', () => {
  it('starts with the type of the mode and waits until running', async () => {
    dms.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [task('starting')] })
      .resolves({ ReplicationTasks: [task('running')] });
    await startTask(client, task('stopped'), 'resume', { timeoutMs: 5000, pollMs: 1 });
    expect(dms.commandCalls(StartReplicationTaskCommand)[0]?.args[0].input).toEqual({
      ReplicationTaskArn: ARN,
      StartReplicationTaskType: 'resume-processing',
    });
  });

  it('a resume answered with "starting" does not take the old "stopped" for an error, and a full-load task is done only when stopped again after starting (DMS API reference: StartReplicationTask returns the task)', async () => {
    dms.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [task('stopped')] }) // not yet seen to move
      .resolvesOnce({ ReplicationTasks: [task('starting')] })
      .resolves({ ReplicationTasks: [task('running')] });
    const resumed = await startTask(client, task('stopped'), 'resume', { timeoutMs: 5000, pollMs: 1 });
    expect(resumed.Status).toBe('running');

    dms.reset();
    const fullLoad = (status: string) => task(status, { MigrationType: 'full-load' });
    dms.on(StartReplicationTaskCommand).resolves({ ReplicationTask: fullLoad('stopped') });
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [fullLoad('stopped')] }) // the old run's stopped
      .resolvesOnce({ ReplicationTasks: [fullLoad('starting')] })
      .resolvesOnce({ ReplicationTasks: [fullLoad('running')] })
      .resolves({ ReplicationTasks: [fullLoad('stopped')] });
    const seen: string[] = [];
    const loaded = await startTask(client, fullLoad('stopped'), 'reload', {
      timeoutMs: 5000,
      pollMs: 1,
      onStatus: (st) => seen.push(st),
    });
    // Accepted at "running": a full-load task counts as started once it runs.
    expect(loaded.Status).toBe('running');
    expect(seen).toEqual(['stopped', 'starting', 'running']);
  });

  it('a stop answered with "stopping" waits through a "running" that has not yet changed', async () => {
    dms.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [task('running')] })
      .resolves({ ReplicationTasks: [task('stopped')] });
    expect((await stopTask(client, task('running'), { timeoutMs: 5000, pollMs: 1 })).Status).toBe('stopped');
  });

  it('start-replication is for a first run only; a task that ran must be resumed or reloaded (DMS API reference: StartReplicationTaskType)', async () => {
    await expect(
      startTask(client, task('stopped'), 'start', { timeoutMs: 1000, pollMs: 1 }),
    ).rejects.toThrowError(
      'task ecommerce-staging-task has run before (it is stopped): start-replication is for a first run; use --mode resume to continue where it stopped, or --mode reload to load every table again',
    );
    await expect(
      startTask(client, task('ready'), 'reload', { timeoutMs: 1000, pollMs: 1 }),
    ).rejects.toThrowError('task ecommerce-staging-task has never run: use --mode start');
    expect(dms.commandCalls(StartReplicationTaskCommand)).toHaveLength(0);
  });

  it('reload-target on a running task stops it first (the reload needs a stopped task)', async () => {
    dms.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
    dms.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [task('stopped')] })
      .resolvesOnce({ ReplicationTasks: [task('starting')] })
      .resolves({ ReplicationTasks: [task('running')] });
    await startTask(client, task('running'), 'reload', { timeoutMs: 5000, pollMs: 1 });
    expect(dms.commandCalls(StopReplicationTaskCommand)).toHaveLength(1);
    expect(dms.commandCalls(StartReplicationTaskCommand)[0]?.args[0].input.StartReplicationTaskType).toBe(
      'reload-target',
    );
  });

  it('a CDC-only task starts at a native start point; start position and time exclude each other; a full-load-and-cdc task takes none (DMS API reference: StartReplicationTask)', async () => {
    const cdcTask = (status: string, position?: string) =>
      task(status, { MigrationType: 'cdc', ...(position ? { CdcStartPosition: position } : {}) });
    dms.on(ModifyReplicationTaskCommand).resolves({ ReplicationTask: cdcTask('modifying') });
    dms.on(StartReplicationTaskCommand).resolves({ ReplicationTask: cdcTask('starting') });
    // Describe shows the old task first, then the modification, then the task ready with the position.
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [cdcTask('ready')] })
      .resolvesOnce({ ReplicationTasks: [cdcTask('modifying')] })
      .resolvesOnce({ ReplicationTasks: [cdcTask('ready', '4AF/B00000D0')] })
      .resolves({ ReplicationTasks: [cdcTask('running', '4AF/B00000D0')] });
    await startTask(
      client,
      cdcTask('ready'),
      'start',
      { timeoutMs: 5000, pollMs: 1 },
      {
        startPosition: '4AF/B00000D0',
        stopPosition: 'server_time:2026-11-30T00:00:00',
      },
    );
    expect(dms.commandCalls(StartReplicationTaskCommand)[0]?.args[0].input).toEqual({
      ReplicationTaskArn: ARN,
      StartReplicationTaskType: 'start-replication',
      CdcStartPosition: '4AF/B00000D0',
      CdcStopPosition: 'server_time:2026-11-30T00:00:00',
    });
    // The task carries the start point before it starts: DMS checks SlotName against it (API reference:
    // PostgreSQLSettings, SlotName).
    expect(dms.commandCalls(ModifyReplicationTaskCommand).map((c) => c.args[0].input)).toEqual([
      { ReplicationTaskArn: ARN, CdcStartPosition: '4AF/B00000D0' },
    ]);
    const order = dms.calls().map((c) => c.args[0]);
    const modified = order.findIndex((c) => c instanceof ModifyReplicationTaskCommand);
    const started = order.findIndex((c) => c instanceof StartReplicationTaskCommand);
    expect(modified).toBeGreaterThanOrEqual(0);
    // Started only after Describe showed the task ready with the position (the third Describe).
    expect(
      order.slice(modified, started).filter((c) => c instanceof DescribeReplicationTasksCommand),
    ).toHaveLength(3);
    // A task that already carries it (a start after a failed one) is not modified again.
    dms.resetHistory();
    dms
      .on(DescribeReplicationTasksCommand)
      .resolves({ ReplicationTasks: [cdcTask('running', '4AF/B00000D0')] });
    await startTask(
      client,
      cdcTask('ready', '4af/b00000d0'),
      'start',
      { timeoutMs: 5000, pollMs: 1 },
      {
        startPosition: '4AF/B00000D0',
      },
    );
    expect(dms.commandCalls(ModifyReplicationTaskCommand)).toHaveLength(0);
    await expect(
      startTask(
        client,
        cdcTask('ready'),
        'start',
        { timeoutMs: 100 },
        { startPosition: '0/1', startTime: new Date() },
      ),
    ).rejects.toThrowError('--cdc-start-position and --cdc-start-time: give one of them (DMS refuses both)');
    await expect(
      startTask(client, task('ready'), 'start', { timeoutMs: 100 }, { startPosition: '0/1' }),
    ).rejects.toThrowError(
      'task ecommerce-staging-task is full-load-and-cdc: a CDC start point is for a CDC-only task (task.migrationType: cdc)',
    );
    await expect(
      startTask(client, cdcTask('ready'), 'start', { timeoutMs: 100 }, { stopPosition: '2026-11-30' }),
    ).rejects.toThrowError(
      "--cdc-stop-position must be server_time:<time> or commit_time:<time>, not '2026-11-30'",
    );
  });

  it('failed-move is a failure, not a state to wait through (DMS API reference: ReplicationTask.Status)', async () => {
    dms.on(DescribeReplicationTasksCommand).resolves({
      ReplicationTasks: [task('failed-move', { LastFailureMessage: 'move failed' })],
    });
    await expect(waitForTask(client, ARN, ['running'], { timeoutMs: 1000, pollMs: 1 })).rejects.toThrowError(
      'replication task ecommerce-staging-task is failed-move: move failed',
    );
  });

  it('does not stop a task twice; a stopping task is only waited for', async () => {
    dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [task('stopped')] });
    await stopTask(client, task('stopping'), { timeoutMs: 5000, pollMs: 1 });
    expect(dms.commandCalls(StopReplicationTaskCommand)).toHaveLength(0);
    await stopTask(client, task('running'), { timeoutMs: 5000, pollMs: 1 });
    expect(dms.commandCalls(StopReplicationTaskCommand)).toHaveLength(1);
  });
});

describe('status and readiness', () => {
  const stats = {
    TableStatistics: [
      {
        SchemaName: 'public',
        TableName: 'orders',
        TableState: 'Table completed',
        FullLoadRows: 10000,
        Inserts: 52,
        Updates: 7,
        Deletes: 1,
        ValidationState: 'Validated',
        ValidationFailedRecords: 0,
      },
      {
        SchemaName: 'public',
        TableName: 'customers',
        TableState: 'Table completed',
        FullLoadRows: 5000,
        Inserts: 3,
        Updates: 0,
        Deletes: 0,
        ValidationState: 'Mismatched records',
        ValidationFailedRecords: 2,
      },
    ],
  };

  it('reads table statistics and CDC latency from CloudWatch', async () => {
    dms.on(DescribeTableStatisticsCommand).resolves(stats);
    cw.on(GetMetricStatisticsCommand, { MetricName: 'CDCLatencySource' }).resolves({
      Datapoints: [
        { Timestamp: new Date(1000), Average: 9 },
        { Timestamp: new Date(2000), Average: 2 },
      ],
    });
    cw.on(GetMetricStatisticsCommand, { MetricName: 'CDCLatencyTarget' }).resolves({
      Datapoints: [{ Timestamp: new Date(2000), Average: 3 }],
    });
    const s = await taskStatus(client, cloudwatch, task('running'), 'ecommerce-staging-dms');
    expect(s.cdcLatencySeconds).toEqual({ source: 2, target: 3 });
    expect(s.tables.map((t) => [t.table, t.state, t.validationState])).toEqual([
      ['public.orders', 'Table completed', 'Validated'],
      ['public.customers', 'Table completed', 'Mismatched records'],
    ]);
    const dims = cw.commandCalls(GetMetricStatisticsCommand)[0]?.args[0].input.Dimensions;
    expect(dims).toEqual([
      { Name: 'ReplicationInstanceIdentifier', Value: 'ecommerce-staging-dms' },
      { Name: 'ReplicationTaskIdentifier', Value: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' },
    ]);
  });

  it('the cutover engine reports validation failures and a task that is not running', async () => {
    dms
      .on(DescribeReplicationTasksCommand)
      .resolves({ ReplicationTasks: [task('stopped', { LastFailureMessage: 'stopped by user' })] });
    dms.on(DescribeTableStatisticsCommand).resolves(stats);
    cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [{ Timestamp: new Date(), Average: 1 }] });
    // The slot as pg_replication_slots shows it with a walsender reading it (this test is about DMS).
    const source = {
      query: async () => ({
        rows: [
          {
            current_lsn: '0/3000000',
            exists: true,
            wal_status: 'reserved',
            safe_wal_size: null,
            confirmed_lsn: '0/2FFFF00',
            lag_bytes: '256',
            walsender: true,
            replay_lag: null,
          },
        ],
      }),
    } as never;
    const engine = dmsCutoverEngine({ client, cloudwatch, config, source, pollMs: 1 });
    const r = await engine.readiness();
    expect(r.fullLoadComplete).toBe(true);
    // "Replication task metrics": CDCLatencySource and CDCLatencyTarget add up to the total latency.
    expect(r.lagSeconds).toBe(2);
    expect(r.slot).toMatchObject({ walStatus: 'reserved', lagBytes: 256, walsenderConnected: true });
    expect(r.validationFailures).toEqual(['public.customers']);
    expect(r.problems).toEqual([
      'task ecommerce-staging-task is stopped, not running',
      'last error: stopped by user',
    ]);
    expect(engine.slot).toBe('dmskit_ecommerce_staging_dms');
  });
});

describe('table and assessment states as the DMS API reference names them', () => {
  it('a table without a primary key is never validated, and only "Table completed" is loaded (TableStatistics)', async () => {
    dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [task('running')] });
    dms.on(DescribeTableStatisticsCommand).resolves({
      TableStatistics: [
        {
          SchemaName: 'public',
          TableName: 'logs',
          TableState: 'Table completed',
          ValidationState: 'No primary key',
        },
        {
          SchemaName: 'public',
          TableName: 'big',
          TableState: 'Full load',
          ValidationState: 'Pending records',
        },
      ],
    });
    cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [{ Timestamp: new Date(), Average: 0 }] });
    const source = {
      query: async () => ({
        rows: [
          {
            current_lsn: '0/1',
            exists: true,
            wal_status: 'reserved',
            confirmed_lsn: '0/1',
            lag_bytes: '0',
            walsender: true,
          },
        ],
      }),
    } as never;
    const r = await dmsCutoverEngine({ client, cloudwatch, config, source, pollMs: 1 }).readiness();
    expect(r.validationFailures).toEqual(['public.logs']);
    expect(r.fullLoadComplete).toBe(false);
    expect(r.problems).toContain('public.big is Full load');
  });

  it('waits through "cancelling", reads every page of the assessments, and says a run that errored did not complete (ReplicationTaskAssessmentRun.Status)', async () => {
    const run = 'arn:aws:dms:eu-west-1:123456789012:assessment-run:RUN';
    dms.on(StartReplicationTaskAssessmentRunCommand).resolves({
      ReplicationTaskAssessmentRun: { ReplicationTaskAssessmentRunArn: run, Status: 'starting' },
    });
    dms
      .on(DescribeReplicationTaskAssessmentRunsCommand)
      .resolvesOnce({ ReplicationTaskAssessmentRuns: [{ Status: 'running' }] })
      .resolvesOnce({ ReplicationTaskAssessmentRuns: [{ Status: 'cancelling' }] })
      .resolves({ ReplicationTaskAssessmentRuns: [{ Status: 'error-executing' }] });
    dms
      .on(DescribeReplicationTaskIndividualAssessmentsCommand)
      .resolvesOnce({
        ReplicationTaskIndividualAssessments: [{ IndividualAssessmentName: 'a', Status: 'passed' }],
        Marker: 'next',
      })
      .resolves({
        ReplicationTaskIndividualAssessments: [{ IndividualAssessmentName: 'b', Status: 'error' }],
      });
    const summary = await assess(client, task('ready'), {
      bucket: 'b',
      roleArn: 'r',
      timeoutMs: 5000,
      pollMs: 1,
    });
    expect(summary).toMatchObject({ status: 'error-executing', completed: false, failed: 1 });
    expect(summary.assessments.map((a) => a.name)).toEqual(['a', 'b']);
    expect(
      dms.commandCalls(DescribeReplicationTaskIndividualAssessmentsCommand)[1]?.args[0].input.Marker,
    ).toBe('next');
  });
});

describe('test-connection', () => {
  it('tests both endpoints and reports a failure by endpoint', async () => {
    dms.on(TestConnectionCommand).resolves({ Connection: { Status: 'testing' } });
    dms
      .on(DescribeConnectionsCommand)
      .resolvesOnce({ Connections: [{ Status: 'testing', EndpointIdentifier: 'ecommerce-staging-source' }] })
      .resolvesOnce({
        Connections: [{ Status: 'successful', EndpointIdentifier: 'ecommerce-staging-source' }],
      })
      .resolves({
        Connections: [
          {
            Status: 'failed',
            EndpointIdentifier: 'ecommerce-staging-target',
            LastFailureMessage: 'Could not connect: timeout',
          },
        ],
      });
    await expect(
      testConnections(client, task('running'), { timeoutMs: 5000, pollMs: 1 }),
    ).rejects.toThrowError(
      'connection test of endpoint ecommerce-staging-target failed: Could not connect: timeout',
    );
    expect(dms.commandCalls(TestConnectionCommand).map((c) => c.args[0].input.EndpointArn)).toEqual([
      task('x').SourceEndpointArn,
      task('x').TargetEndpointArn,
    ]);
  });
});
