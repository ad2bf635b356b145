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
  return dmsFakeTasks([o.id ?? 'ecommerce-staging-task'], o).tasks[0]!;
}

/** Several tasks (a migration split by `task.shards`), each moving on its own; one mock serves them all. */
export function dmsFakeTasks(
  ids: readonly string[],
  o: Omit<DmsFakeOptions, 'id'> = {},
): { tasks: DmsFake[]; restore: () => void } {
  const mock = mockClient(DatabaseMigrationServiceClient);
  let describes = 0;
  const states = ids.map((id, i) => {
    const arn = `arn:aws:dms:eu-west-1:123456789012:task:FAKETASK${i === 0 ? '' : i + 1}`;
    let status = o.initial ?? 'ready';
    let shown = status;
    let lag = 0;
    let pending: { to: string; after: number } | undefined;
    let runningFor = -1;
    let failureMessage: string | undefined;
    let stops = 0;
    const described: string[] = [];
    const starts: string[] = [];
    const task = (s: string): ReplicationTask => ({
      ReplicationTaskIdentifier: id,
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
    return {
      id,
      arn,
      described,
      starts,
      stops: () => stops,
      truth: () => task(status),
      start: (type: string) => {
        starts.push(type);
        if (status === 'running')
          throw Object.assign(new Error('task is running'), { name: 'InvalidResourceStateFault' });
        status = 'starting';
        moveTo('running', o.startSteps ?? 2);
        return task('starting');
      },
      stop: () => {
        stops++;
        if (status !== 'running')
          throw Object.assign(new Error(`task is ${status}`), { name: 'InvalidResourceStateFault' });
        status = 'stopping';
        runningFor = -1;
        moveTo('stopped', o.stopSteps ?? 2);
        return task('stopping');
      },
      describe: () => {
        // The transition counts only once reads show the call (after the stale reads).
        if (pending && lag === 0 && --pending.after <= 0) {
          status = pending.to;
          pending = undefined;
          if (status === 'running') runningFor = 0;
        }
        if (
          status === 'running' &&
          runningFor >= 0 &&
          o.failAfter !== undefined &&
          runningFor++ >= o.failAfter
        ) {
          status = 'failed';
          failureMessage = o.failure ?? 'Last Error Replication task out of memory. Stop Reason FATAL_ERROR';
        }
        if (lag > 0) lag--;
        else shown = status;
        described.push(shown);
        return task(shown);
      },
    };
  });
  const byArn = (arn: string | undefined) => {
    const t = states.find((x) => x.arn === arn);
    if (!t) throw Object.assign(new Error(`no task ${arn}`), { name: 'ResourceNotFoundFault' });
    return t;
  };
  mock
    .on(StartReplicationTaskCommand)
    .callsFake((input: { ReplicationTaskArn: string; StartReplicationTaskType: string }) => ({
      ReplicationTask: byArn(input.ReplicationTaskArn).start(input.StartReplicationTaskType),
    }));
  mock.on(StopReplicationTaskCommand).callsFake((input: { ReplicationTaskArn: string }) => ({
    ReplicationTask: byArn(input.ReplicationTaskArn).stop(),
  }));
  mock
    .on(DescribeReplicationTasksCommand)
    .callsFake((input: { Filters?: { Name: string; Values: string[] }[] }) => {
      describes++;
      if (o.throttleEvery && describes % o.throttleEvery === 0)
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        });
      // Filters as DMS reads them: by task id or ARN, any of the values.
      const f = input.Filters?.[0];
      const hit = states.filter(
        (t) =>
          !f ||
          (f.Name === 'replication-task-id' && f.Values.includes(t.id)) ||
          (f.Name === 'replication-task-arn' && f.Values.includes(t.arn)),
      );
      return { ReplicationTasks: hit.map((t) => t.describe()) };
    });
  mock.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [] });
  return {
    tasks: states.map((t) => ({
      task: t.truth,
      described: t.described,
      starts: t.starts,
      stops: t.stops,
      restore: () => mock.restore(),
    })),
    restore: () => mock.restore(),
  };
}
