import {
  DatabaseMigrationServiceClient,
  DescribeReplicationConfigsCommand,
  DescribeReplicationsCommand,
  DescribeReplicationTableStatisticsCommand,
  type Replication,
  StartReplicationCommand,
  StopReplicationCommand,
} from '@aws-sdk/client-database-migration-service';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { testConfig } from '../config.testkit.js';
import { dmsCutoverEngine } from './engine.js';
import { findReplicationConfig, startServerless, stopServerless } from './serverless.js';

// Response shapes from the DMS API reference: DescribeReplicationConfigs, DescribeReplications, ...
const CONFIG_ARN = 'arn:aws:dms:eu-west-1:123456789012:replication-config:ABC';
const replication = (Status: string, extra: Partial<Replication> = {}): Replication => ({
  ReplicationConfigIdentifier: 'shop-prod-task',
  ReplicationConfigArn: CONFIG_ARN,
  ReplicationType: 'full-load-and-cdc',
  Status,
  ...extra,
});
const dms = mockClient(DatabaseMigrationServiceClient);
const client = new DatabaseMigrationServiceClient({ region: 'eu-west-1', maxAttempts: 1 });
const wait = { timeoutMs: 5000, pollMs: 1 };
const config = testConfig({
  replicationInstance: { serverless: { minCapacityUnits: 2, maxCapacityUnits: 16 } },
});

describe('DMS Serverless (StartReplication, StopReplication, DescribeReplications by ReplicationConfigArn)', () => {
  beforeEach(() => dms.reset());

  it('finds the replication config by the id the stack gives it, and says so when the stack is not deployed', async () => {
    dms.on(DescribeReplicationConfigsCommand).resolves({
      ReplicationConfigs: [
        { ReplicationConfigIdentifier: 'shop-prod-task', ReplicationConfigArn: CONFIG_ARN },
      ],
    });
    expect(await findReplicationConfig(client, config)).toBe(CONFIG_ARN);
    expect(dms.commandCalls(DescribeReplicationConfigsCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: 'replication-config-id', Values: ['shop-prod-task'] },
    ]);
    dms.on(DescribeReplicationConfigsCommand).resolves({ ReplicationConfigs: [] });
    await expect(findReplicationConfig(client, config)).rejects.toThrowError(
      'DMS Serverless replication config shop-prod-task not found: deploy the stack first (dmskit plan, then cdktf deploy)',
    );
  });

  it('a full-load-only replication that stops once every table is loaded has ended, not failed', async () => {
    dms
      .on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [] })
      // Loaded before the first poll saw it running: it goes from provisioning straight to stopped.
      .resolvesOnce({
        Replications: [replication('provisioning_capacity', { ReplicationType: 'full-load' })],
      })
      .resolves({
        Replications: [
          replication('stopped', { ReplicationType: 'full-load', StopReason: 'FULL_LOAD_ONLY_FINISHED' }),
        ],
      });
    dms.on(StartReplicationCommand).resolves({ Replication: replication('initializing') });
    const r = await startServerless(client, CONFIG_ARN, 'start', wait);
    expect(r).toMatchObject({ Status: 'stopped', StopReason: 'FULL_LOAD_ONLY_FINISHED' });
    // Stopped for another reason: a failure, with the reason.
    dms.reset();
    dms
      .on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [] })
      .resolves({ Replications: [replication('stopped', { StopReason: 'USER_STOPPED' })] });
    dms.on(StartReplicationCommand).resolves({ Replication: replication('initializing') });
    await expect(startServerless(client, CONFIG_ARN, 'start', wait)).rejects.toThrowError(
      /is stopped, not running \(USER_STOPPED\)/,
    );
  });

  it('a first start passes through the provisioning states it does not know by name, until running', async () => {
    dms
      .on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [] }) // never started
      .resolvesOnce({ Replications: [replication('initializing')] })
      .resolvesOnce({ Replications: [replication('calculating_capacity')] })
      .resolves({ Replications: [replication('running')] });
    dms.on(StartReplicationCommand).resolves({ Replication: replication('initializing') });
    const seen: string[] = [];
    const r = await startServerless(client, CONFIG_ARN, 'start', { ...wait, onStatus: (s) => seen.push(s) });
    expect(r.Status).toBe('running');
    expect(dms.commandCalls(StartReplicationCommand)[0]?.args[0].input).toEqual({
      ReplicationConfigArn: CONFIG_ARN,
      StartReplicationType: 'start-replication',
    });
    expect(seen).toEqual(['initializing', 'calculating_capacity', 'running']);
  });

  it('a resume takes the stale "stopped" for not yet; start-replication after a run is refused; a failure carries DMS’s messages', async () => {
    dms
      .on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [replication('stopped')] })
      .resolvesOnce({ Replications: [replication('stopped')] })
      .resolves({ Replications: [replication('running')] });
    dms.on(StartReplicationCommand).resolves({});
    expect((await startServerless(client, CONFIG_ARN, 'resume', wait)).Status).toBe('running');

    dms.reset(); // "Once" answers count from the stub's creation: a fresh stub for each sequence
    dms.on(DescribeReplicationsCommand).resolves({ Replications: [replication('stopped')] });
    await expect(startServerless(client, CONFIG_ARN, 'start', wait)).rejects.toThrowError(
      'the serverless replication has run before (it is stopped): use --mode resume to continue where it stopped, or --mode reload to load every table again',
    );

    dms.reset();
    dms.on(StartReplicationCommand).resolves({});
    dms
      .on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [replication('stopped')] })
      .resolves({
        Replications: [
          replication('failed', { FailureMessages: ['Test connection failed for endpoint source'] }),
        ],
      });
    await expect(startServerless(client, CONFIG_ARN, 'resume', wait)).rejects.toThrowError(
      'DMS Serverless replication shop-prod-task failed: Test connection failed for endpoint source',
    );
  });

  it('stop waits through stopping; a stopped replication is left alone', async () => {
    dms
      .on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [replication('running')] })
      .resolvesOnce({ Replications: [replication('stopping')] })
      .resolves({ Replications: [replication('stopped')] });
    dms.on(StopReplicationCommand).resolves({});
    expect((await stopServerless(client, CONFIG_ARN, wait))?.Status).toBe('stopped');
    await stopServerless(client, CONFIG_ARN, wait);
    expect(dms.commandCalls(StopReplicationCommand)).toHaveLength(1);
  });

  it('the cutover engine drives a serverless replication: readiness from its tables and the slot’s lag, stop and resume', async () => {
    dms.on(DescribeReplicationConfigsCommand).resolves({
      ReplicationConfigs: [
        { ReplicationConfigIdentifier: 'shop-prod-task', ReplicationConfigArn: CONFIG_ARN },
      ],
    });
    dms.on(DescribeReplicationsCommand).resolves({ Replications: [replication('running')] });
    dms.on(DescribeReplicationTableStatisticsCommand).resolves({
      ReplicationTableStatistics: [
        {
          SchemaName: 'public',
          TableName: 'orders',
          TableState: 'Table completed',
          ValidationState: 'Validated',
        },
      ],
    });
    const source = {
      query: async () => ({
        rows: [
          {
            current_lsn: '0/3000000',
            exists: true,
            wal_status: 'reserved',
            confirmed_lsn: '0/3000000',
            lag_bytes: '0',
            walsender: true,
            replay_lag: 0.4,
          },
        ],
      }),
    } as never;
    const engine = dmsCutoverEngine({
      client,
      cloudwatch: {} as never,
      config,
      source,
      slot: 'abc_slot',
      pollMs: 1,
    });
    const r = await engine.readiness();
    expect(r).toMatchObject({
      fullLoadComplete: true,
      lagSeconds: 0.4,
      validationFailures: [],
      problems: [],
    });
    expect(engine.describe().stop).toBe('DMS Serverless: StopReplication shop-prod-task, wait until stopped');
  });
});
