import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard/index.js';
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule/index.js';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target/index.js';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';
import { DmsEventSubscription } from '@cdktf/provider-aws/lib/dms-event-subscription/index.js';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic/index.js';
import { SnsTopicPolicy } from '@cdktf/provider-aws/lib/sns-topic-policy/index.js';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription/index.js';
import { Construct } from 'constructs';
import { validateProps } from '../validate-props.js';

export interface MigrationMonitoringProps {
  readonly name: string;
  readonly region: string;
  readonly kmsKeyArn: string;
  /** Replication instance identifier (not its ARN): the dimension of the AWS/DMS instance metrics. */
  readonly replicationInstanceId?: string;
  /**
   * The replication tasks, each with its id (the event subscription's source id), its resource id (the
   * last part of its ARN: the `ReplicationTaskIdentifier` dimension of its metrics; default the id) and
   * its ARN. Each gets its CDC latency alarms; the event subscription covers all.
   */
  readonly replicationTasks?: readonly {
    readonly id: string;
    readonly metricId?: string;
    readonly arn?: string;
  }[];
  readonly replicationInstanceArn?: string;
  /**
   * A DMS Serverless replication config's ARN: its state changes (failed, stopped, ...) reach the topic
   * through an EventBridge rule on `DMS Replication State Change`, since DMS event subscriptions take
   * replication instances and tasks only (EventBridge: "AWS Database Migration Service events"; DMS API
   * reference: CreateEventSubscription, SourceType).
   */
  readonly replicationConfigArn?: string;
  /**
   * The account that owns the topic: the topic policy lets CloudWatch, DMS and EventBridge of this
   * account only publish to it (`aws:SourceAccount`).
   */
  readonly accountId: string;
  /**
   * The Aurora cluster identifier: the writer's alarms use the cluster's `Role = WRITER` metrics, so they
   * follow the writer through a failover (Aurora: "Amazon CloudWatch metrics for Amazon Aurora").
   */
  readonly auroraClusterId: string;
  /** The site-to-site VPN connection to on-prem, whose tunnels' state raises an alarm when all are down. */
  readonly vpnConnectionId?: string;
  /** CDC latency (seconds) that raises an alarm. @default 60 */
  readonly cdcLatencyThresholdSeconds?: number;
  /** Free storage (bytes) under which the replication instance alarms. @default 10 GiB */
  readonly freeStorageThresholdBytes?: number;
  /** Freeable memory (bytes) under which an alarm fires. @default 512 MiB */
  readonly freeableMemoryThresholdBytes?: number;
  /** Aurora publishes (the fall-back path's slot): alarms on slot lag and transaction log growth. */
  readonly auroraLogicalReplication?: boolean;
  /** OldestReplicationSlotLag threshold, bytes. @default 5 GiB */
  readonly slotLagThresholdBytes?: number;
  /** TransactionLogsDiskUsage threshold, bytes. @default 20 GiB */
  readonly transactionLogsThresholdBytes?: number;
  /** Direct Connect connections of the path: an alarm each when it is down. */
  readonly directConnectConnectionIds?: readonly string[];
  /** E-mail subscribed to the alarm topic. */
  readonly alarmEmail?: string;
  /**
   * An existing SNS topic the alarms and events go to instead of one made here (an on-call team's): its
   * policy must let cloudwatch.amazonaws.com and dms.amazonaws.com (events.amazonaws.com for Serverless)
   * publish, and its key let them use it.
   */
  readonly alarmTopicArn?: string;
  readonly tags?: Record<string, string>;
}

/**
 * Alarms, events and a dashboard for a running migration: CDCLatencySource, CDCLatencyTarget,
 * FreeStorageSpace, CPUUtilization and FreeableMemory of the replication instance (DMS: "Monitoring AWS
 * DMS tasks", metrics in AWS/DMS), CPU and memory of the Aurora writer, an encrypted SNS topic with a
 * policy for the services that publish to it, a DMS event subscription for task failure and state change
 * and instance failover, and for DMS Serverless an EventBridge rule on the replication's state changes.
 */
export class MigrationMonitoring extends Construct {
  /** The topic made here, unless an existing one was given. */
  public readonly topic?: SnsTopic;
  /** Where every alarm and event goes: the topic made here or the existing one. */
  public readonly topicArn: string;
  public readonly alarms: CloudwatchMetricAlarm[] = [];
  public readonly eventSubscription?: DmsEventSubscription;
  /** The EventBridge rule that sends a Serverless replication's state changes to the topic. */
  public readonly serverlessEvents?: CloudwatchEventRule;
  public readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: MigrationMonitoringProps) {
    super(scope, id);
    const latency = props.cdcLatencyThresholdSeconds ?? 60;
    validateProps('MigrationMonitoring', [
      {
        failed: latency <= 0,
        message: `cdcLatencyThresholdSeconds must be positive but ${latency} was provided`,
      },
      {
        failed:
          !props.replicationTasks?.length && !props.replicationInstanceId && !props.replicationConfigArn,
        message: 'replicationTasks, replicationInstanceId or replicationConfigArn is required',
      },
    ]);
    const tags = props.tags ? { tags: props.tags } : {};
    if (props.alarmTopicArn) this.topicArn = props.alarmTopicArn;
    else {
      const topic = new SnsTopic(this, 'Topic', {
        name: `${props.name}-alarms`,
        kmsMasterKeyId: props.kmsKeyArn,
        ...tags,
      });
      const publishers = ['cloudwatch.amazonaws.com', 'dms.amazonaws.com'];
      if (props.replicationConfigArn) publishers.push('events.amazonaws.com');
      // The topic's own policy (SNS: "Example cases for Amazon SNS access control"): the owner account keeps
      // its rights, and the services that raise alarms and events publish, for this account only.
      new SnsTopicPolicy(this, 'TopicPolicy', {
        arn: topic.arn,
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OwnerAccount',
              Effect: 'Allow',
              Principal: { AWS: '*' },
              Action: [
                'SNS:GetTopicAttributes',
                'SNS:SetTopicAttributes',
                'SNS:AddPermission',
                'SNS:RemovePermission',
                'SNS:DeleteTopic',
                'SNS:Subscribe',
                'SNS:ListSubscriptionsByTopic',
                'SNS:Publish',
              ],
              Resource: topic.arn,
              Condition: { StringEquals: { 'AWS:SourceOwner': props.accountId } },
            },
            {
              Sid: 'ServicesPublishAlarmsAndEvents',
              Effect: 'Allow',
              Principal: { Service: publishers },
              Action: 'sns:Publish',
              Resource: topic.arn,
              Condition: { StringEquals: { 'aws:SourceAccount': props.accountId } },
            },
          ],
        }),
      });
      if (props.alarmEmail)
        new SnsTopicSubscription(this, 'Email', {
          topicArn: topic.arn,
          protocol: 'email',
          endpoint: props.alarmEmail,
        });
      this.topic = topic;
      this.topicArn = topic.arn;
    }
    const alarm = (
      idSuffix: string,
      o: {
        namespace: string;
        metric: string;
        dimensions: Record<string, string>;
        comparison: string;
        threshold: number;
        statistic?: string;
        description: string;
      },
    ) => {
      const a = new CloudwatchMetricAlarm(this, idSuffix, {
        alarmName: `${props.name}-${idSuffix.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`,
        alarmDescription: o.description,
        namespace: o.namespace,
        metricName: o.metric,
        dimensions: o.dimensions,
        statistic: o.statistic ?? 'Average',
        period: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        comparisonOperator: o.comparison,
        threshold: o.threshold,
        treatMissingData: 'missing',
        alarmActions: [this.topicArn],
        okActions: [this.topicArn],
        ...tags,
      });
      this.alarms.push(a);
      return a;
    };
    const instanceDim = props.replicationInstanceId
      ? { ReplicationInstanceIdentifier: props.replicationInstanceId }
      : undefined;
    const tasks = props.replicationTasks ?? [];
    if (instanceDim)
      tasks.forEach((t, i) => {
        // The first task's alarms keep the ids of a single-task stack; the others are numbered.
        const n = i === 0 ? '' : String(i + 1);
        const of = tasks.length > 1 ? ` (task ${t.id})` : '';
        const taskDim = { ...instanceDim, ReplicationTaskIdentifier: t.metricId ?? t.id };
        alarm(`CdcLatencySource${n}`, {
          namespace: 'AWS/DMS',
          metric: 'CDCLatencySource',
          dimensions: taskDim,
          comparison: 'GreaterThanThreshold',
          threshold: latency,
          description: `CDC reads the source more than ${latency} s behind${of}`,
        });
        alarm(`CdcLatencyTarget${n}`, {
          namespace: 'AWS/DMS',
          metric: 'CDCLatencyTarget',
          dimensions: taskDim,
          comparison: 'GreaterThanThreshold',
          threshold: latency,
          description: `CDC applies to the target more than ${latency} s behind${of}`,
        });
      });
    if (instanceDim) {
      alarm('DmsFreeStorage', {
        namespace: 'AWS/DMS',
        metric: 'FreeStorageSpace',
        dimensions: instanceDim,
        comparison: 'LessThanThreshold',
        threshold: props.freeStorageThresholdBytes ?? 10 * 1024 ** 3,
        description: 'Replication instance storage is running out (cached changes, logs)',
      });
      alarm('DmsCpu', {
        namespace: 'AWS/DMS',
        metric: 'CPUUtilization',
        dimensions: instanceDim,
        comparison: 'GreaterThanThreshold',
        threshold: 85,
        description: 'Replication instance CPU above 85%',
      });
      alarm('DmsFreeableMemory', {
        namespace: 'AWS/DMS',
        metric: 'FreeableMemory',
        dimensions: instanceDim,
        comparison: 'LessThanThreshold',
        threshold: props.freeableMemoryThresholdBytes ?? 512 * 1024 ** 2,
        description: 'Replication instance memory is running out',
      });
    }
    const writerDim = { DBClusterIdentifier: props.auroraClusterId, Role: 'WRITER' };
    alarm('AuroraWriterCpu', {
      namespace: 'AWS/RDS',
      metric: 'CPUUtilization',
      dimensions: writerDim,
      comparison: 'GreaterThanThreshold',
      threshold: 85,
      description: 'Aurora writer CPU above 85%',
    });
    alarm('AuroraWriterFreeableMemory', {
      namespace: 'AWS/RDS',
      metric: 'FreeableMemory',
      dimensions: writerDim,
      comparison: 'LessThanThreshold',
      threshold: props.freeableMemoryThresholdBytes ?? 512 * 1024 ** 2,
      description: 'Aurora writer memory is running out',
    });

    if (props.auroraLogicalReplication) {
      // The fall-back path's slot on Aurora (the target publishes back to the old source): a stalled
      // subscriber makes it keep WAL until the writer's storage fills (Aurora: "Amazon CloudWatch metrics
      // for Amazon Aurora", OldestReplicationSlotLag and TransactionLogsDiskUsage, bytes).
      alarm('AuroraSlotLag', {
        namespace: 'AWS/RDS',
        metric: 'OldestReplicationSlotLag',
        dimensions: writerDim,
        statistic: 'Maximum',
        comparison: 'GreaterThanThreshold',
        threshold: props.slotLagThresholdBytes ?? 5 * 1024 ** 3,
        description: "Aurora's oldest replication slot (the fall-back path) is behind: its WAL is kept",
      });
      alarm('AuroraTransactionLogs', {
        namespace: 'AWS/RDS',
        metric: 'TransactionLogsDiskUsage',
        dimensions: writerDim,
        statistic: 'Maximum',
        comparison: 'GreaterThanThreshold',
        threshold: props.transactionLogsThresholdBytes ?? 20 * 1024 ** 3,
        description: "Aurora's transaction logs keep growing (a slot holds them): the writer's storage fills",
      });
    }
    // ConnectionState is 1 while the connection is up, 0 when down (Direct Connect: "Monitoring with
    // Amazon CloudWatch").
    for (const [i, id] of (props.directConnectConnectionIds ?? []).entries())
      alarm(i === 0 ? 'DirectConnectDown' : `DirectConnectDown${i + 1}`, {
        namespace: 'AWS/DX',
        metric: 'ConnectionState',
        dimensions: { ConnectionId: id },
        statistic: 'Minimum',
        comparison: 'LessThanThreshold',
        threshold: 1,
        description: `Direct Connect connection ${id} is down: DMS may have lost the source`,
      });

    if (props.vpnConnectionId)
      // TunnelState is 1 while a tunnel is up; the maximum over the connection is 0 when every tunnel is
      // down: DMS has lost the source (VPN: "Monitoring your Site-to-Site VPN connections").
      alarm('VpnTunnelsDown', {
        namespace: 'AWS/VPN',
        metric: 'TunnelState',
        dimensions: { VpnId: props.vpnConnectionId },
        statistic: 'Maximum',
        comparison: 'LessThanThreshold',
        threshold: 1,
        description: 'Every tunnel of the VPN to on-prem is down: DMS cannot reach the source',
      });

    if (tasks.some((t) => t.arn) || props.replicationInstanceArn) {
      const task = tasks.some((t) => t.arn);
      this.eventSubscription = new DmsEventSubscription(this, 'Events', {
        name: `${props.name}-dms-events`,
        snsTopicArn: this.topicArn,
        sourceType: task ? 'replication-task' : 'replication-instance',
        sourceIds: task ? tasks.map((t) => t.id) : [props.replicationInstanceId!],
        eventCategories: task ? ['failure', 'state change'] : ['failover', 'failure', 'low storage'],
        enabled: true,
        ...tags,
      });
      if (task && props.replicationInstanceId) {
        new DmsEventSubscription(this, 'InstanceEvents', {
          name: `${props.name}-dms-instance-events`,
          snsTopicArn: this.topicArn,
          sourceType: 'replication-instance',
          sourceIds: [props.replicationInstanceId],
          eventCategories: ['failover', 'failure', 'low storage'],
          enabled: true,
          ...tags,
        });
      }
    }
    if (props.replicationConfigArn) {
      this.serverlessEvents = new CloudwatchEventRule(this, 'ServerlessEvents', {
        name: `${props.name}-dms-serverless-events`,
        description: 'State changes of the DMS Serverless replication (failed, stopped, running...)',
        eventPattern: JSON.stringify({
          source: ['aws.dms'],
          'detail-type': ['DMS Replication State Change'],
          resources: [props.replicationConfigArn],
        }),
        ...tags,
      });
      new CloudwatchEventTarget(this, 'ServerlessEventsToTopic', {
        rule: this.serverlessEvents.name,
        arn: this.topicArn,
      });
    }
    const widget = (title: string, metrics: unknown[][], x: number, y: number) => ({
      type: 'metric',
      x,
      y,
      width: 12,
      height: 6,
      properties: { title, region: props.region, stat: 'Average', period: 60, metrics },
    });
    const widgets = [
      ...(tasks.length && instanceDim
        ? [
            widget(
              'CDC latency (s)',
              tasks.flatMap((t) =>
                ['CDCLatencySource', 'CDCLatencyTarget'].map((metric) => [
                  'AWS/DMS',
                  metric,
                  'ReplicationInstanceIdentifier',
                  instanceDim.ReplicationInstanceIdentifier,
                  'ReplicationTaskIdentifier',
                  t.metricId ?? t.id,
                ]),
              ),
              0,
              0,
            ),
          ]
        : []),
      ...(instanceDim
        ? [
            widget(
              'Replication instance',
              [
                [
                  'AWS/DMS',
                  'CPUUtilization',
                  'ReplicationInstanceIdentifier',
                  instanceDim.ReplicationInstanceIdentifier,
                ],
                [
                  'AWS/DMS',
                  'FreeableMemory',
                  'ReplicationInstanceIdentifier',
                  instanceDim.ReplicationInstanceIdentifier,
                ],
                [
                  'AWS/DMS',
                  'FreeStorageSpace',
                  'ReplicationInstanceIdentifier',
                  instanceDim.ReplicationInstanceIdentifier,
                ],
              ],
              12,
              0,
            ),
          ]
        : []),
      widget(
        'Aurora writer',
        [
          ['AWS/RDS', 'CPUUtilization', 'DBClusterIdentifier', props.auroraClusterId, 'Role', 'WRITER'],
          ['AWS/RDS', 'FreeableMemory', 'DBClusterIdentifier', props.auroraClusterId, 'Role', 'WRITER'],
        ],
        0,
        6,
      ),
    ];
    this.dashboard = new CloudwatchDashboard(this, 'Dashboard', {
      dashboardName: `${props.name}-migration`,
      dashboardBody: JSON.stringify({ widgets }),
    });
  }
}
