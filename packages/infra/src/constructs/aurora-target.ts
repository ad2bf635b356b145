import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group/index.js';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group/index.js';
import { RdsCluster } from '@cdktf/provider-aws/lib/rds-cluster/index.js';
import { RdsClusterInstance } from '@cdktf/provider-aws/lib/rds-cluster-instance/index.js';
import { RdsClusterParameterGroup } from '@cdktf/provider-aws/lib/rds-cluster-parameter-group/index.js';
import { Construct } from 'constructs';
import { validateProps } from '../validate-props.js';

export interface AuroraTargetProps {
  readonly name: string;
  /** Days the exported PostgreSQL log is kept in CloudWatch Logs. @default 30 */
  readonly logRetentionDays?: number;
  /** Aurora PostgreSQL version, e.g. `16.4`. */
  readonly engineVersion: string;
  /** When restarting changes take effect: the weekly window (UTC) or at once. */
  readonly maintenance?: { readonly window: string; readonly applyImmediately: boolean };
  readonly instanceClass: string;
  /** Writer plus readers. */
  readonly instanceCount: number;
  readonly databaseName: string;
  readonly masterUsername: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  /** Key for storage, Performance Insights and the master secret. */
  readonly kmsKeyArn: string;
  /** Cluster parameters over the migration defaults (`rds.force_ssl=1`, connection and DDL logging). @default {} */
  readonly parameters?: Record<string, string>;
  /** @default true */
  readonly deletionProtection?: boolean;
  /** @default 7 */
  readonly backupRetentionDays?: number;
  readonly tags?: Record<string, string>;
}

/** Cluster parameters every migration target gets (Aurora PostgreSQL: "Parameters"). */
export const TARGET_CLUSTER_PARAMETERS: Readonly<Record<string, string>> = {
  'rds.force_ssl': '1',
  log_connections: '1',
  log_disconnections: '1',
  log_statement: 'ddl',
  log_min_duration_statement: '5000',
};

/**
 * The Aurora PostgreSQL target: DB subnet group, cluster and instance parameter groups, an encrypted
 * cluster (customer KMS key) with deletion protection, backups, IAM database authentication, PostgreSQL
 * log export, and a master password that RDS keeps in Secrets Manager (never in Terraform), plus
 * `instanceCount` instances with Performance Insights, none publicly accessible.
 */
export class AuroraTarget extends Construct {
  public readonly cluster: RdsCluster;
  /** The CloudWatch log group of the cluster's PostgreSQL log, with a retention. */
  public readonly logGroup: CloudwatchLogGroup;
  public readonly instances: RdsClusterInstance[];
  public readonly subnetGroup: DbSubnetGroup;
  public readonly clusterParameters: RdsClusterParameterGroup;

  constructor(scope: Construct, id: string, props: AuroraTargetProps) {
    super(scope, id);
    const major = Number(props.engineVersion.split('.')[0]);
    const retention = props.backupRetentionDays ?? 7;
    validateProps('AuroraTarget', [
      {
        failed: !(major >= 11),
        message: `engineVersion must be an Aurora PostgreSQL version such as 16.4 but '${props.engineVersion}' was provided`,
      },
      {
        failed: props.instanceCount < 1 || props.instanceCount > 16,
        message: `instanceCount must be 1-16 but ${props.instanceCount} was provided`,
      },
      {
        failed: retention < 1 || retention > 35,
        message: `backupRetentionDays must be 1-35 but ${retention} was provided`,
      },
      {
        failed: props.subnetIds.length < 2,
        message: 'subnetIds needs subnets in at least two availability zones',
      },
    ]);
    const family = `aurora-postgresql${major}`;
    // Parameter groups are named by their family: a major version upgrade creates the new family's
    // groups before the old ones go (create_before_destroy), instead of replacing groups in use.
    const createBeforeDestroy = { lifecycle: { createBeforeDestroy: true } };
    this.subnetGroup = new DbSubnetGroup(this, 'SubnetGroup', {
      name: `${props.name}-aurora`,
      subnetIds: [...props.subnetIds],
      ...(props.tags ? { tags: props.tags } : {}),
    });
    const parameters = { ...TARGET_CLUSTER_PARAMETERS, ...props.parameters };
    this.clusterParameters = new RdsClusterParameterGroup(this, 'ClusterParameters', {
      name: `${props.name}-aurora-cluster-pg${major}`,
      family,
      description: `dmskit migration target (${props.name})`,
      parameter: Object.keys(parameters)
        .sort()
        .map((name) => ({ name, value: parameters[name]!, applyMethod: 'pending-reboot' })),
      ...createBeforeDestroy,
      ...(props.tags ? { tags: props.tags } : {}),
    });
    const instanceParameters = new DbParameterGroup(this, 'InstanceParameters', {
      name: `${props.name}-aurora-instance-pg${major}`,
      family,
      description: `dmskit migration target instances (${props.name})`,
      ...createBeforeDestroy,
      ...(props.tags ? { tags: props.tags } : {}),
    });
    // The log group Aurora exports PostgreSQL's log to, made first so that it has a retention (RDS would
    // create it with none: kept forever) and is destroyed with the stack (Aurora: "Publishing Aurora
    // PostgreSQL logs to Amazon CloudWatch Logs").
    this.logGroup = new CloudwatchLogGroup(this, 'PostgresqlLogs', {
      name: `/aws/rds/cluster/${props.name}-aurora/postgresql`,
      retentionInDays: props.logRetentionDays ?? 30,
      ...(props.tags ? { tags: props.tags } : {}),
    });
    this.cluster = new RdsCluster(this, 'Resource', {
      clusterIdentifier: `${props.name}-aurora`,
      engine: 'aurora-postgresql',
      engineVersion: props.engineVersion,
      // A change of engineVersion's major version is planned as an upgrade in place, with the new
      // family's parameter groups (RDS: "Upgrading the PostgreSQL DB engine for Aurora PostgreSQL").
      allowMajorVersionUpgrade: true,
      dbInstanceParameterGroupName: instanceParameters.name,
      preferredMaintenanceWindow: props.maintenance?.window ?? 'sun:04:00-sun:04:30',
      applyImmediately: props.maintenance?.applyImmediately ?? false,
      databaseName: props.databaseName,
      masterUsername: props.masterUsername,
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: props.kmsKeyArn,
      storageEncrypted: true,
      kmsKeyId: props.kmsKeyArn,
      deletionProtection: props.deletionProtection ?? true,
      backupRetentionPeriod: retention,
      iamDatabaseAuthenticationEnabled: true,
      enabledCloudwatchLogsExports: ['postgresql'],
      dependsOn: [this.logGroup],
      dbSubnetGroupName: this.subnetGroup.name,
      vpcSecurityGroupIds: [...props.securityGroupIds],
      dbClusterParameterGroupName: this.clusterParameters.name,
      copyTagsToSnapshot: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${props.name}-aurora-final`,
      ...(props.tags ? { tags: props.tags } : {}),
    });
    this.instances = Array.from(
      { length: props.instanceCount },
      (_, i) =>
        new RdsClusterInstance(this, `Instance${i}`, {
          identifier: `${props.name}-aurora-${i + 1}`,
          clusterIdentifier: this.cluster.id,
          engine: 'aurora-postgresql',
          // No engineVersion: instances follow the cluster's (an instance-level version fights the
          // cluster's upgrade).
          instanceClass: props.instanceClass,
          dbParameterGroupName: instanceParameters.name,
          preferredMaintenanceWindow: props.maintenance?.window ?? 'sun:04:00-sun:04:30',
          applyImmediately: props.maintenance?.applyImmediately ?? false,
          publiclyAccessible: false,
          performanceInsightsEnabled: true,
          performanceInsightsKmsKeyId: props.kmsKeyArn,
          // The version is pinned in the config: AWS upgrading the minor version by itself would make
          // every later plan try a downgrade. Minor upgrades are a config change, planned and reviewed.
          autoMinorVersionUpgrade: false,
          promotionTier: i,
          ...(props.tags ? { tags: props.tags } : {}),
        }),
    );
  }
}
