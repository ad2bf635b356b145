import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DatabaseMigrationServiceClient,
  DescribeConnectionsCommand,
  DescribeReplicationsCommand,
  DescribeReplicationTableStatisticsCommand,
  DescribeReplicationTaskAssessmentRunsCommand,
  DescribeReplicationTaskIndividualAssessmentsCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ModifyReplicationTaskCommand,
  ReloadReplicationTablesCommand,
  type ReplicationTask,
  StartReplicationCommand,
  StartReplicationTaskAssessmentRunCommand,
  StartReplicationTaskCommand,
  StopReplicationCommand,
  StopReplicationTaskCommand,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import { synthStacks } from '@dmskit/infra';
import {
  assess,
  reloadServerlessTable,
  reloadTable,
  serverlessTableStatistics,
  startServerless,
  startTask,
  stopServerless,
  stopTask,
  tableStatistics,
  testConnections,
  waitForTask,
} from '@dmskit/ops-cli';
import { loadMigrationConfig } from '@dmskit/shared';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { type DmsModel, dmsWaiters, loadDmsModel } from '../helpers/dms-model.js';
import { scratchDir } from '../helpers/scratch.js';

const pascal = (snake: string) => snake.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
const toApi = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [pascal(k), v]));

describe('what dmskit sends DMS, checked against the DMS service model (botocore service-2.json)', () => {
  let model: DmsModel;
  beforeAll(async () => {
    model = await loadDmsModel();
  });

  it('the model check itself rejects what DMS would: a PostgreSQL plugin name, an unknown start type, a missing required member', () => {
    expect(model.shape('PostgreSQLSettings', { PluginName: 'test_decoding' })).toEqual([
      "PostgreSQLSettings.PluginName: 'test_decoding' is not one of 'no-preference', 'test-decoding', 'pglogical'",
    ]);
    expect(
      model.request('StartReplicationTask', { ReplicationTaskArn: 'a', StartReplicationTaskType: 'start' }),
    ).toEqual([
      "StartReplicationTask.StartReplicationTaskType: 'start' is not one of 'start-replication', 'resume-processing', 'reload-target'",
    ]);
    expect(model.request('StopReplicationTask', {})).toEqual([
      'StopReplicationTask.ReplicationTaskArn: required',
    ]);
  });

  it('the endpoints and task of the example stack: settings, SSL modes and migration type are values DMS accepts', async () => {
    const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: REPO_ROOT });
    const stacks = await synthStacks(
      [path.join(REPO_ROOT, 'migrations/ecommerce.ts')],
      await scratchDir('dms-model'),
      {
        offline: true,
      },
    );
    const stack = stacks.find((s) => path.basename(s) === `${config.name}-${config.environment}`)!;
    const synth = JSON.parse(await readFile(path.join(stack, 'cdk.tf.json'), 'utf8')) as {
      resource: Record<string, Record<string, Record<string, unknown>>>;
    };
    const endpoints = Object.values(synth.resource.aws_dms_endpoint ?? {});
    expect(endpoints).toHaveLength(2);
    for (const e of endpoints) {
      expect(
        model.shape('PostgreSQLSettings', toApi(e.postgres_settings as Record<string, unknown>)),
      ).toEqual([]);
      expect(model.shape('DmsSslModeValue', e.ssl_mode)).toEqual([]);
      expect(model.shape('ReplicationEndpointTypeValue', e.endpoint_type)).toEqual([]);
    }
    for (const t of Object.values(synth.resource.aws_dms_replication_task ?? {}))
      expect(model.shape('MigrationTypeValue', t.migration_type)).toEqual([]);
  });

  it('the waits end where AWS’s own waiters do (waiters-2.json): success and failure acceptors alike, and poll through the rest', async () => {
    const dms = mockClient(DatabaseMigrationServiceClient);
    const client = new DatabaseMigrationServiceClient({ region: 'eu-west-1', maxAttempts: 1 });
    const arn = 'arn:aws:dms:eu-west-1:123456789012:task:T';
    const waiters = dmsWaiters();
    for (const [waiter, want] of [
      ['ReplicationTaskRunning', 'running'],
      ['ReplicationTaskStopped', 'stopped'],
    ] as const) {
      const acceptors = waiters[waiter]!.acceptors;
      for (const { expected, state } of [
        ...acceptors,
        { expected: 'starting', state: 'retry' as const },
        { expected: 'stopping', state: 'retry' as const },
      ]) {
        if (acceptors.some((a) => a.expected === expected) && state === 'retry') continue;
        dms.reset();
        dms.on(DescribeReplicationTasksCommand).resolves({
          ReplicationTasks: [{ ReplicationTaskArn: arn, ReplicationTaskIdentifier: 't', Status: expected }],
        });
        const outcome = await waitForTask(client, arn, [want], { timeoutMs: 30, pollMs: 5 }).then(
          () => 'success',
          (e: Error) => (/did not reach/.test(e.message) ? 'retry' : 'failure'),
        );
        expect(`${waiter} ${expected}: ${outcome}`).toBe(`${waiter} ${expected}: ${state}`);
      }
    }
    dms.restore();
  });

  it('every request the CLI builds to start, stop, reload, test, read statistics and assess', async () => {
    const dms = mockClient(DatabaseMigrationServiceClient);
    const client = new DatabaseMigrationServiceClient({ region: 'eu-west-1', maxAttempts: 1 });
    const task = (Status: string): ReplicationTask => ({
      ReplicationTaskIdentifier: 'shop-task',
      ReplicationTaskArn: 'arn:aws:dms:eu-west-1:123456789012:task:T',
      ReplicationInstanceArn: 'arn:aws:dms:eu-west-1:123456789012:rep:R',
      SourceEndpointArn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:S',
      TargetEndpointArn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:D',
      MigrationType: 'full-load-and-cdc',
      Status,
    });
    const wait = { timeoutMs: 5000, pollMs: 1 };
    dms.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
    dms.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
    dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [task('running')] });
    await startTask(client, task('ready'), 'start', wait);
    // A CDC-only task from a native start point, with a stop position: the task is given the position
    // first (ModifyReplicationTask), then started at it.
    const cdcTask: ReplicationTask = { ...task('ready'), MigrationType: 'cdc' };
    dms.on(ModifyReplicationTaskCommand).resolves({ ReplicationTask: { ...cdcTask, Status: 'modifying' } });
    dms
      .on(DescribeReplicationTasksCommand)
      .resolvesOnce({ ReplicationTasks: [{ ...cdcTask, Status: 'modifying' }] })
      .resolvesOnce({ ReplicationTasks: [{ ...cdcTask, CdcStartPosition: '4AF/B00000D0' }] })
      .resolves({ ReplicationTasks: [task('running')] });
    await startTask(client, cdcTask, 'start', wait, {
      startPosition: '4AF/B00000D0',
      stopPosition: 'commit_time:2026-11-30T00:00:00',
    });
    dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [task('running')] });
    await startTask(client, task('stopped'), 'resume', wait);
    dms.on(DescribeReplicationTasksCommand).resolves({ ReplicationTasks: [task('stopped')] });
    await stopTask(client, task('running'), wait);
    await reloadTable(client, task('running'), 'public', 'orders');
    dms.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [] });
    await tableStatistics(client, task('running').ReplicationTaskArn!);
    dms.on(TestConnectionCommand).resolves({});
    dms
      .on(DescribeConnectionsCommand)
      .resolves({ Connections: [{ Status: 'successful', EndpointIdentifier: 'e' }] });
    await testConnections(client, task('running'), wait);
    dms.on(StartReplicationTaskAssessmentRunCommand).resolves({
      ReplicationTaskAssessmentRun: { ReplicationTaskAssessmentRunArn: 'arn:run', Status: 'starting' },
    });
    dms
      .on(DescribeReplicationTaskAssessmentRunsCommand)
      .resolves({ ReplicationTaskAssessmentRuns: [{ Status: 'passed' }] });
    dms
      .on(DescribeReplicationTaskIndividualAssessmentsCommand)
      .resolves({ ReplicationTaskIndividualAssessments: [] });
    await assess(client, task('ready'), {
      bucket: 'results',
      roleArn: 'arn:aws:iam::123456789012:role/r',
      timeoutMs: 5000,
      pollMs: 1,
    });

    // DMS Serverless, newer than botocore's model: checked against the SDK's structures.
    const configArn = 'arn:aws:dms:eu-west-1:123456789012:replication-config:C';
    let serverlessStatus = 'stopped';
    dms.on(DescribeReplicationsCommand).callsFake(() => ({
      Replications: [{ ReplicationConfigArn: configArn, Status: serverlessStatus }],
    }));
    dms.on(StartReplicationCommand).callsFake(() => {
      serverlessStatus = 'running';
      return {};
    });
    dms.on(StopReplicationCommand).callsFake(() => {
      serverlessStatus = 'stopped';
      return {};
    });
    dms.on(DescribeReplicationTableStatisticsCommand).resolves({ ReplicationTableStatistics: [] });
    dms.on(ReloadReplicationTablesCommand).resolves({});
    await startServerless(client, configArn, 'resume', wait, {
      stopPosition: 'server_time:2026-11-30T00:00:00',
    });
    await serverlessTableStatistics(client, configArn);
    await reloadServerlessTable(client, configArn, 'public', 'orders');
    await stopServerless(client, configArn, wait);

    const calls = dms.calls();
    const operations = new Set<string>();
    for (const call of calls) {
      const command = call.args[0] as { constructor: { name: string }; input: unknown };
      const operation = command.constructor.name.replace(/Command$/, '');
      operations.add(operation);
      expect(model.request(operation, command.input), operation).toEqual([]);
    }
    expect([...operations].sort()).toEqual([
      'DescribeConnections',
      'DescribeReplicationTableStatistics',
      'DescribeReplicationTaskAssessmentRuns',
      'DescribeReplicationTaskIndividualAssessments',
      'DescribeReplicationTasks',
      'DescribeReplications',
      'DescribeTableStatistics',
      'ModifyReplicationTask',
      'ReloadReplicationTables',
      'ReloadTables',
      'StartReplication',
      'StartReplicationTask',
      'StartReplicationTaskAssessmentRun',
      'StopReplication',
      'StopReplicationTask',
      'TestConnection',
    ]);
    dms.restore();
  });
});
