import {
  DatabaseMigrationServiceClient,
  DescribeReplicationTasksCommand,
  type ReplicationTask,
  ResourceNotFoundFault,
} from '@aws-sdk/client-database-migration-service';
import { dmsTaskIds, ExternalError, type MigrationConfig, resourceName, UsageError } from '@dmskit/shared';
import { sleep } from '../util/time.js';

/** A DMS client with adaptive retries (throttling backs off instead of failing). */
export function createDmsClient(region: string): DatabaseMigrationServiceClient {
  return new DatabaseMigrationServiceClient({ region, retryMode: 'adaptive', maxAttempts: 8 });
}

/** The ids dmskit's stack gives a migration's DMS resources (never typed by hand). */
export function dmsResourceIds(config: Pick<MigrationConfig, 'name' | 'environment'>): {
  task: string;
  instance: string;
  source: string;
  target: string;
} {
  const name = resourceName(config);
  return {
    task: `${name}-task`,
    instance: `${name}-dms`,
    source: `${name}-source`,
    target: `${name}-target`,
  };
}

/** The resource id CloudWatch uses for a task's metrics: the last part of its ARN. */
export function taskResourceId(arn: string): string {
  return arn.split(':').pop() ?? arn;
}

/**
 * The values of `ReplicationTask.Status` (DMS API reference: "ReplicationTask"): moving, creating,
 * deleting, failed, failed-move, modifying, ready, running, starting, stopped, stopping, testing.
 * These pass on their own.
 */
export const TRANSITIONAL_STATES = new Set([
  'creating',
  'starting',
  'stopping',
  'modifying',
  'deleting',
  'moving',
  'testing',
]);

/** Statuses in which a task has failed (`failed-move`: a move to another replication instance failed). */
export const FAILED_STATES = new Set(['failed', 'failed-move']);

/**
 * The statuses a wait passes through on the way to the one it wants, as AWS's own waiters accept them
 * (botocore's DMS waiters-2.json: ReplicationTaskRunning fails on ready, creating, stopping, stopped,
 * failed, modifying, testing and deleting, so only `starting` leads to running; ReplicationTaskStopped
 * keeps polling through `stopping` and `running`). `moving` (to another instance) also ends running.
 */
const WAIT_THROUGH: Readonly<Record<string, readonly string[]>> = {
  running: ['starting', 'moving'],
  stopped: ['stopping', 'running'],
};

function transitionalFor(want: readonly string[]): Set<string> {
  const through = new Set(want.flatMap((w) => WAIT_THROUGH[w] ?? [...TRANSITIONAL_STATES]));
  for (const w of want) through.delete(w);
  return through;
}

function isThrottling(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return /Throttl|TooManyRequests|RequestLimitExceeded/.test(name);
}

/**
 * The migration's replication task, found by the id the stack gives it.
 * @throws UsageError naming the task when it does not exist (the stack is not deployed)
 */
export async function findTask(
  client: DatabaseMigrationServiceClient,
  config: Pick<MigrationConfig, 'name' | 'environment'> & Partial<Pick<MigrationConfig, 'task'>>,
): Promise<ReplicationTask> {
  return (await findTasks(client, config))[0]!;
}

/**
 * Every replication task of the migration, in shard order, found by the ids the stack gives them
 * (`dmsTaskIds`: one task, or `task.shards` of them).
 * @throws UsageError naming the tasks that do not exist (the stack is not deployed, or not with these shards)
 */
export async function findTasks(
  client: DatabaseMigrationServiceClient,
  config: Pick<MigrationConfig, 'name' | 'environment'> & Partial<Pick<MigrationConfig, 'task'>>,
): Promise<ReplicationTask[]> {
  const ids = config.task
    ? dmsTaskIds(config as Pick<MigrationConfig, 'name' | 'environment' | 'task'>)
    : [dmsResourceIds(config).task];
  let found: ReplicationTask[] = [];
  try {
    const out = await client.send(
      new DescribeReplicationTasksCommand({
        Filters: [{ Name: 'replication-task-id', Values: ids }],
        WithoutSettings: true,
      }),
    );
    found = out.ReplicationTasks ?? [];
  } catch (error) {
    if (
      !(error instanceof ResourceNotFoundFault) &&
      (error as { name?: string }).name !== 'ResourceNotFoundFault'
    ) {
      throw new ExternalError(`DMS DescribeReplicationTasks failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const byId = new Map(found.map((t) => [t.ReplicationTaskIdentifier, t]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length)
    throw new UsageError(
      `replication task ${missing.join(', ')} not found: deploy the stack first (dmskit plan, then cdktf deploy)`,
    );
  return ids.map((id) => byId.get(id)!);
}

/**
 * Polls the task until its status is one of `want`, passing through transitional states and
 * throttling (which backs off). A task that fails, or settles in a status not wanted, is an error.
 *
 * After a Start or Stop call, pass `from` (the status before the call) and `returned` (the status the
 * call answered with, reported first): DMS describes the task in its old status for a moment after the
 * call, so until a Describe shows it transitional or changed, the old status means "not yet" rather
 * than an end state. A full-load task that was `stopped` before a start is done only when it is `stopped`
 * again after `starting`, and a resumed task still `stopped` is not an error yet.
 * @returns the task in the wanted status
 * @throws ExternalError with the task's last failure message
 */
export async function waitForTask(
  client: DatabaseMigrationServiceClient,
  arn: string,
  want: readonly string[],
  options: {
    timeoutMs: number;
    pollMs?: number;
    signal?: AbortSignal;
    onStatus?: (status: string) => void;
    from?: string;
    returned?: string;
    /**
     * What else the wanted status must show (a Modify call's values are described some time after
     * the call): until it holds, the wait goes on.
     */
    shows?: (task: ReplicationTask) => boolean;
  },
): Promise<ReplicationTask> {
  const deadline = Date.now() + options.timeoutMs;
  let pause = options.pollMs ?? 5000;
  let last = '';
  // The call's answer (`returned`) says it was accepted, not that Describe shows it yet: only a status
  // seen here that differs from `from`, or a transitional one, proves the task has moved.
  let moved = options.from === undefined;
  const through = transitionalFor(want);
  if (options.returned) options.onStatus?.(options.returned);
  last = options.returned ?? '';
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const out = await client.send(
        new DescribeReplicationTasksCommand({
          Filters: [{ Name: 'replication-task-arn', Values: [arn] }],
          WithoutSettings: true,
        }),
      );
      const task = out.ReplicationTasks?.[0];
      if (!task)
        throw new ExternalError(`replication task ${arn} disappeared while waiting for ${want.join(' or ')}`);
      const status = task.Status ?? 'unknown';
      if (status !== last) options.onStatus?.(status);
      last = status;
      const unchanged = (!moved && status === options.from) || (options.shows ? !options.shows(task) : false);
      if (through.has(status) || (!unchanged && status !== options.from)) moved = true;
      if (want.includes(status) && !unchanged) return task;
      if (FAILED_STATES.has(status) && !unchanged)
        throw new ExternalError(
          `replication task ${task.ReplicationTaskIdentifier} ${status === 'failed' ? 'failed' : 'is failed-move'}: ${task.LastFailureMessage ?? task.StopReason ?? 'no reason given'}`,
        );
      if (!through.has(status) && !unchanged) {
        throw new ExternalError(
          `replication task ${task.ReplicationTaskIdentifier} is ${status}, not ${want.join(' or ')}${task.StopReason ? ` (${task.StopReason})` : ''}`,
        );
      }
      pause = options.pollMs ?? 5000;
    } catch (error) {
      if (!isThrottling(error)) throw error;
      pause = Math.min(pause * 2, 60_000); // beyond the SDK's own retries: back off further
    }
    if (Date.now() > deadline)
      throw new ExternalError(
        `replication task ${arn} did not reach ${want.join(' or ')} within ${Math.round(options.timeoutMs / 1000)} s (last status: ${last || 'unknown'})`,
      );
    await sleep(pause, options.signal);
  }
}
