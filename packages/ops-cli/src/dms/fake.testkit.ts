import {
  DatabaseMigrationServiceClient,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  type ReplicationTask,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
} from '@aws-sdk/client-database-migration-service';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * A stateful fake of the DMS task API for tests, on aws-sdk-client-mock, with the response shapes of the
 * DMS API reference. The task moves through its statuses as DMS does: StartReplicationTask answers
 * `starting` and the task runs after `startSteps` more describes; StopReplicationTask answers `stopping`
 * and it is stopped after `stopSteps`. For a moment after each call (`lagSteps` describes) DescribeReplicationTasks
 * still shows the old status, as DMS's eventually consistent reads do. `throttleEvery` throttles every
 * n-th describe; `failAfter` makes the task fail that many describes after it started running.
 */
export interface DmsFakeOptions {
  readonly id?: string;
  readonly migrationType?: 'full-load' | 'full-load-and-cdc' | 'cdc';
  readonly initial?: string;
  readonly startSteps?: number;
  readonly stopSteps?: number;
  readonly lagSteps?: number;
  readonly throttleEvery?: number;
  readonly failAfter?: number;
  readonly failure?: string;
}

export interface DmsFake {
  /** The task as DMS would describe it now (the truth, not the lagging read). */
  readonly task: () => ReplicationTask;
  /** Every status a describe returned, in order. */
  readonly described: string[];
  /** StartReplicationTask types received, in order. */
  readonly starts: string[];
  readonly stops: () => number;
  readonly restore: () => void;
}

export function dmsFake(o: DmsFakeOptions = {}): DmsFake {
  const mock = mockClient(DatabaseMigrationServiceClient);
  const arn = 'arn:aws:dms:eu-west-1:123456789012:task:FAKETASK';
  let status = o.initial ?? 'ready';
  let shown = status;
  let lag = 0;
  let pending: { to: string; after: number } | undefined;
  let runningFor = -1;
  let failureMessage: string | undefined;
  let describes = 0;
  let stops = 0;
  const described: string[] = [];
  const starts: string[] = [];
  const task = (s: string): ReplicationTask => ({
    ReplicationTaskIdentifier: o.id ?? 'ecommerce-staging-task',
    ReplicationTaskArn: arn,
    ReplicationInstanceArn: 'arn:aws:dms:eu-west-1:123456789012:rep:FAKEINSTANCE',
    SourceEndpointArn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:SRC',
    TargetEndpointArn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:TGT',
    MigrationType: o.migrationType ?? 'full-load-and-cdc',
    Status: s,
    ...(failureMessage ? { LastFailureMessage: failureMessage } : {}),
  });
  const moveTo = (to: string, after: number) => {
    pending = { to, after };
    lag = o.lagSteps ?? 1;
  };
  mock.on(StartReplicationTaskCommand).callsFake((input: { StartReplicationTaskType: string }) => {
    starts.push(input.StartReplicationTaskType);
    if (status === 'running')
      throw Object.assign(new Error('task is running'), { name: 'InvalidResourceStateFault' });
    status = 'starting';
    moveTo('running', o.startSteps ?? 2);
    return { ReplicationTask: task('starting') };
  });
  mock.on(StopReplicationTaskCommand).callsFake(() => {
    stops++;
    if (status !== 'running')
      throw Object.assign(new Error(`task is ${status}`), { name: 'InvalidResourceStateFault' });
    status = 'stopping';
    runningFor = -1;
    moveTo('stopped', o.stopSteps ?? 2);
    return { ReplicationTask: task('stopping') };
  });
  mock.on(DescribeReplicationTasksCommand).callsFake(() => {
    describes++;
    if (o.throttleEvery && describes % o.throttleEvery === 0)
      throw Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      });
    // The transition counts only once reads show the call (after the stale reads).
    if (pending && lag === 0 && --pending.after <= 0) {
      status = pending.to;
      pending = undefined;
      if (status === 'running') runningFor = 0;
    }
    if (status === 'running' && runningFor >= 0 && o.failAfter !== undefined && runningFor++ >= o.failAfter) {
      status = 'failed';
      failureMessage = o.failure ?? 'Last Error Replication task out of memory. Stop Reason FATAL_ERROR';
    }
    if (lag > 0) lag--;
    else shown = status;
    described.push(shown);
    return { ReplicationTasks: [task(shown)] };
  });
  mock.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [] });
  return {
    task: () => task(status),
    described,
    starts,
    stops: () => stops,
    restore: () => mock.restore(),
  };
}
