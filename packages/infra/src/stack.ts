import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js';
import {
  assessmentResources,
  type CatalogTable,
  dmsSlotName,
  type MigrationConfig,
  planTaskShards,
  resourceName,
  resourceTags,
  taskSettingsJson,
} from '@dmskit/shared';
import { Aspects, Fn, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct, IConstruct } from 'constructs';
import { ApplicationDns } from './constructs/application-dns.js';
import { AuroraTarget } from './constructs/aurora-target.js';
import { DmsReplication, type DmsSslMode } from './constructs/dms-replication.js';
import { DmsRoles } from './constructs/dms-roles.js';
import { EncryptionKey } from './constructs/encryption.js';
import { MigrationMonitoring } from './constructs/monitoring.js';
import { Network } from './constructs/network.js';
import { OnPremDns } from './constructs/on-prem-dns.js';
import { MigrationSecurityGroups } from './constructs/security-groups.js';
import { TimeTravelStore } from './constructs/time-travel.js';
import { type SharedGateway, sharedCustomerGatewayId } from './customer-gateway-stack.js';
import { providerAndBackend } from './provider-backend.js';

export interface MigrationStackProps {
  readonly config: MigrationConfig;
  /**
   * Plan without AWS: the provider skips credential, account and region checks, and state stays local.
   * Only for `dmskit plan --offline`; a real plan or deploy uses the S3 backend. @default false
   */
  readonly offline?: boolean;
  /** PEM text of the source's CA (read from `source.caCertificateFile` by the caller). */
  readonly sourceCaCertificatePem?: string;
  /** The source's tables from a `dmskit catalog` file, to check table mappings at synth. */
  readonly catalog?: readonly CatalogTable[];
}

/** The partition of a region: `aws-cn` for cn-*, `aws-us-gov` for us-gov-*, else `aws`. */
export function partitionOf(region: string): string {
  return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/**
 * The account id for policies: the config's `aws.accountId`, else the planning credentials' account
 * (`aws_caller_identity`), else (offline, where no AWS call is made) the placeholder 000000000000.
 */
function accountIdOf(scope: Construct, config: MigrationConfig, offline: boolean): string {
  if (config.aws.accountId) return config.aws.accountId;
  if (offline) return '000000000000';
  return new DataAwsCallerIdentity(scope, 'Account').accountId;
}

const SSL_MODES: Record<MigrationConfig['source']['sslmode'], DmsSslMode> = {
  disable: 'none',
  allow: 'none',
  prefer: 'none',
  require: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

/**
 * The whole landing zone of one migration in one environment: network and on-prem routes, security
 * groups, KMS, endpoint secrets, the Aurora PostgreSQL target, the DMS roles, replication instance (or
 * Serverless), endpoints and task, and monitoring. Construct ids are API: changing one replaces the resource.
 */
/**
 * The state key of a migration stack, under `state.keyPrefix`: the account and region first, so that
 * accounts sharing one state bucket (and one migration name in two regions) never share a state.
 */
export function migrationStateKey(config: MigrationConfig): string {
  return `${config.aws.accountId ?? 'no-account'}/${config.aws.region}/${config.name}/${config.environment}/terraform.tfstate`;
}

/** The old source's address for the fall-back path's ingress rule: `source.hostCidr`, or `host` as a /32. */
export function fallbackSourceCidrs(config: MigrationConfig): string[] | undefined {
  if (config.source.hostCidr) return [config.source.hostCidr];
  return /^\d+\.\d+\.\d+\.\d+$/.test(config.source.host) ? [`${config.source.host}/32`] : undefined;
}

/**
 * Sets a permissions boundary on every IAM role of a stack (a cdktf Aspect, applied at synth), so that no
 * construct can forget it (`aws.permissionsBoundaryArn`).
 */
export function withPermissionsBoundary(stack: TerraformStack, arn: string): void {
  Aspects.of(stack).add({
    visit(node: IConstruct) {
      if (node instanceof IamRole) node.permissionsBoundary = arn;
    },
  });
}

/**
 * The connectivity the network gets: a VPN whose customer gateway is shared
 * (`connectivity.sharedCustomerGateway`) uses the id of the gateway its own stack made
 * (customer-gateway-stack.ts) instead of making one.
 */
function withSharedGateway(
  scope: Construct,
  config: MigrationConfig,
  offline: boolean,
): NonNullable<MigrationConfig['network']['connectivity']> & { customerGatewayId?: string } {
  const c = config.network.connectivity!;
  const shared = sharedGatewayOf(config);
  return shared ? { ...c, customerGatewayId: sharedCustomerGatewayId(scope, shared, offline) } : c;
}

/** The shared customer gateway a migration's VPN uses, or undefined when it makes its own (or has no VPN). */
export function sharedGatewayOf(config: MigrationConfig): SharedGateway | undefined {
  const c = config.network.connectivity;
  if (config.network.existingVpc || c?.type !== 'vpn' || !c.sharedCustomerGateway) return undefined;
  return {
    ...(config.aws.accountId ? { accountId: config.aws.accountId } : {}),
    region: config.aws.region,
    ipAddress: c.customerGatewayIp,
    bgpAsn: c.bgpAsn,
  };
}

export class MigrationStack extends TerraformStack {
  /** Undefined when the stack lands in an existing VPC (config network.existingVpc). */
  public readonly network?: Network;
  public readonly securityGroups: MigrationSecurityGroups;
  /** Undefined when the config names an existing KMS key (encryption.existingKmsKeyArn). */
  public readonly key?: EncryptionKey;
  public readonly target: AuroraTarget;
  public readonly replication: DmsReplication;
  public readonly monitoring: MigrationMonitoring;

  constructor(scope: Construct, id: string, props: MigrationStackProps) {
    super(scope, id);
    const { config } = props;
    if (config.aws.permissionsBoundaryArn) withPermissionsBoundary(this, config.aws.permissionsBoundaryArn);
    const name = resourceName(config);
    const tags = resourceTags(config);
    providerAndBackend(this, {
      region: config.aws.region,
      tags,
      offline: props.offline ?? false,
      ...(config.state ? { state: config.state } : {}),
      stateKey: migrationStateKey(config),
    });

    const accountId = accountIdOf(this, config, props.offline ?? false);
    // The migration's own key, or the one the platform team names (config encryption.existingKmsKeyArn).
    const existingKey = config.encryption.existingKmsKeyArn;
    if (!existingKey)
      this.key = new EncryptionKey(this, 'Key', {
        alias: `dmskit/${name}`,
        description: `dmskit ${name}: Aurora, DMS, secrets, alarms`,
        accountId,
        partition: partitionOf(config.aws.region),
        // The alarm topic is encrypted with this key: CloudWatch alarms and DMS events publish to it, and
        // EventBridge the state changes of a DMS Serverless replication.
        topicPublishers: [
          'cloudwatch.amazonaws.com',
          'dms.amazonaws.com',
          ...(config.replicationInstance.serverless ? ['events.amazonaws.com'] : []),
        ],
      });
    const kmsKeyArn = existingKey ?? this.key!.key.arn;
    // A VPC of its own with the routes to on-prem, or the platform team's (config network.existingVpc).
    const existingVpc = config.network.existingVpc;
    if (!existingVpc)
      this.network = new Network(this, 'Network', {
        name,
        region: config.aws.region,
        vpcCidr: config.network.vpcCidr,
        availabilityZones: config.network.availabilityZones,
        onPremCidrs: config.network.onPremCidrs,
        connectivity: withSharedGateway(this, config, props.offline ?? false),
        interfaceEndpoints: config.network.interfaceEndpoints,
        // Time Travel writes its logs to S3: the VPC has no NAT, so S3 is reached through its endpoint.
        gatewayEndpoints: config.task.timeTravel.enabled ? ['s3'] : [],
      });
    const vpcId = existingVpc?.vpcId ?? this.network!.vpc.id;
    const privateSubnetIds = existingVpc?.privateSubnetIds ?? this.network!.privateSubnets.map((s) => s.id);
    if (config.network.onPremDns)
      new OnPremDns(this, 'OnPremDns', {
        name,
        vpcId,
        subnetIds: privateSubnetIds,
        domain: config.network.onPremDns.domain,
        serverIps: config.network.onPremDns.serverIps,
      });
    // The applications' database name, switched by the cutover (cutover.dns).
    const appDns = config.cutover.dns
      ? new ApplicationDns(this, 'ApplicationDns', {
          vpcId,
          zoneName: config.cutover.dns.zoneName,
          recordName: config.cutover.dns.recordName,
          ttlSeconds: config.cutover.dns.ttlSeconds,
          sourceHost: config.source.host,
        })
      : undefined;
    this.securityGroups = new MigrationSecurityGroups(this, 'SecurityGroups', {
      name,
      vpcId,
      vpcCidr: config.network.vpcCidr,
      onPremCidrs: config.network.onPremCidrs,
      sourcePort: config.source.port,
      appCidrs: config.target.appCidrs,
      fallbackFromOnPrem: config.cutover.fallback,
      ...(fallbackSourceCidrs(config) ? { fallbackSourceCidrs: fallbackSourceCidrs(config) } : {}),
    });
    const s3 = this.network?.s3Endpoint;
    if (s3)
      this.securityGroups.allowEgressToPrefixList(
        'ReplicationToS3',
        s3.prefixListId,
        443,
        'S3 (Time Travel logs), through the gateway endpoint',
      );

    const databaseName = config.target.databaseName ?? config.source.database;
    this.target = new AuroraTarget(this, 'Target', {
      name,
      engineVersion: config.target.engineVersion,
      instanceClass: config.target.instanceClass,
      instanceCount: config.target.instanceCount,
      maintenance: config.target.maintenance,
      databaseName,
      masterUsername: config.target.masterUsername,
      subnetIds: privateSubnetIds,
      securityGroupIds: [this.securityGroups.aurora.id],
      kmsKeyArn: kmsKeyArn,
      // The fall-back path publishes from Aurora: logical decoding on the writer (Aurora PostgreSQL:
      // "Setting up logical replication", rds.logical_replication; it takes a reboot of the writer).
      parameters: {
        ...(config.cutover.fallback ? { 'rds.logical_replication': '1' } : {}),
        ...config.target.parameters,
      },
      deletionProtection: config.target.deletionProtection,
      backupRetentionDays: config.target.backupRetentionDays,
    });

    // Endpoint credentials: secrets the operator fills (host, port, username, password); no value in Terraform.
    const sourceSecretArn =
      config.source.password.from === 'secrets-manager'
        ? config.source.password.secretArn
        : new SecretsmanagerSecret(this, 'SourceSecret', {
            name: `dmskit/${name}/source`,
            description: `DMS source endpoint of ${name}: host, port, username, password of the on-prem PostgreSQL`,
            kmsKeyId: kmsKeyArn,
          }).arn;
    const targetSecret = new SecretsmanagerSecret(this, 'TargetSecret', {
      name: `dmskit/${name}/target`,
      description: `DMS target endpoint of ${name}: host, port, username, password of the DMS user on Aurora`,
      kmsKeyId: kmsKeyArn,
    });
    const roles = new DmsRoles(this, 'DmsRoles', {
      name,
      region: config.aws.region,
      accountId,
      checkAccountRoles: !props.offline,
      secretArns: [sourceSecretArn, targetSecret.arn],
      kmsKeyArn: kmsKeyArn,
    });
    // Where premigration assessments write their results (`dmskit assess`), with a replication instance.
    const assessment = assessmentResources(config);
    const assessments =
      assessment && !config.replicationInstance.serverless
        ? new TimeTravelStore(this, 'Assessments', {
            name,
            accountId,
            kmsKeyArn,
            retentionDays: 90,
            bucketName: assessment.bucket,
            roleName: assessment.roleName,
            purpose: 'assessment-results',
          })
        : undefined;
    if (assessments) new TerraformOutput(this, 'assessment_bucket', { value: assessments.bucket.bucket });
    const timeTravel = config.task.timeTravel.enabled
      ? new TimeTravelStore(this, 'TimeTravel', {
          name,
          accountId,
          kmsKeyArn,
          retentionDays: config.task.timeTravel.retentionDays,
        })
      : undefined;
    this.replication = new DmsReplication(this, 'Replication', {
      name,
      maintenance: config.replicationInstance.maintenance,
      subnetIds: privateSubnetIds,
      securityGroupIds: [this.securityGroups.replication.id],
      kmsKeyArn: kmsKeyArn,
      dependsOn: roles.ready,
      instanceClass: config.replicationInstance.class,
      allocatedStorageGb: config.replicationInstance.allocatedStorageGb,
      multiAz: config.replicationInstance.multiAz,
      engineVersion: config.replicationInstance.engineVersion,
      ...(config.replicationInstance.serverless ? { serverless: config.replicationInstance.serverless } : {}),
      source: {
        databaseName: config.source.database,
        sslMode: SSL_MODES[config.source.sslmode],
        ...(props.sourceCaCertificatePem ? { caCertificatePem: props.sourceCaCertificatePem } : {}),
        secretArn: sourceSecretArn,
        // A named slot (dmskit start creates it) only for a CDC-only task, which starts at the slot's LSN
        // (CdcStartPosition); a full-load-and-cdc task lets DMS create its own slot (DMS API reference:
        // PostgreSQLSettings.SlotName needs a valid CdcStartPosition). The task is created without one:
        // the slot and its LSN exist only once dmskit start made them, and the start gives the task its
        // position (ModifyReplicationTask) before StartReplicationTask; cdc_start_position is optional
        // and computed in the provider, so the next plan leaves it (test/e2e/plan.test.ts).
        ...(config.task.migrationType === 'cdc' ? { slotName: dmsSlotName(config) } : {}),
        plugin: config.replicationInstance.plugin,
        settings: config.source.dms,
      },
      target: { databaseName, secretArn: targetSecret.arn },
      secretsAccessRoleArn: roles.secretsAccessRole.arn,
      migrationType: config.task.migrationType,
      tasks: planTaskShards(config, props.catalog).map((t) => ({
        taskId: t.taskId,
        tableMappings: t.tableMappings,
      })),
      taskSettings: taskSettingsJson(
        config.task,
        timeTravel
          ? {
              bucketName: timeTravel.bucket.bucket,
              serviceAccessRoleArn: timeTravel.role.arn,
              kmsKeyArn,
            }
          : undefined,
      ),
      logRetentionDays: config.task.logRetentionDays,
    });
    this.monitoring = new MigrationMonitoring(this, 'Monitoring', {
      name,
      region: config.aws.region,
      accountId,
      kmsKeyArn: kmsKeyArn,
      ...(this.replication.instance
        ? {
            replicationInstanceId: this.replication.instance.replicationInstanceId,
            replicationInstanceArn: this.replication.instance.replicationInstanceArn,
          }
        : {}),
      replicationTasks: this.replication.tasks.map((t) => ({
        id: t.replicationTaskId,
        // CloudWatch keys a task's metrics by its resource id (the last part of the ARN), not its task id.
        metricId: Fn.element(Fn.split(':', t.replicationTaskArn), 6),
        arn: t.replicationTaskArn,
      })),
      ...(this.replication.serverlessConfig
        ? { replicationConfigArn: this.replication.serverlessConfig.arn }
        : {}),
      auroraClusterId: this.target.cluster.clusterIdentifier,
      ...(this.network?.vpnConnection ? { vpnConnectionId: this.network.vpnConnection.id } : {}),
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
      ...(config.alarmTopicArn ? { alarmTopicArn: config.alarmTopicArn } : {}),
      auroraLogicalReplication: config.cutover.fallback,
      ...(config.network.connectivity?.type === 'direct-connect'
        ? { directConnectConnectionIds: config.network.connectivity.connectionIds }
        : {}),
    });

    new TerraformOutput(this, 'aurora_endpoint', { value: this.target.cluster.endpoint });
    if (appDns)
      new TerraformOutput(this, 'application_dns_zone_id', {
        value: appDns.zone.zoneId,
        description: `the private zone of ${config.cutover.dns!.recordName}, which dmskit cutover points at the Aurora writer`,
      });
    new TerraformOutput(this, 'aurora_master_secret_arn', {
      value: this.target.cluster.masterUserSecret.get(0).secretArn,
    });
    new TerraformOutput(this, 'source_secret_arn', { value: sourceSecretArn });
    new TerraformOutput(this, 'target_secret_arn', { value: targetSecret.arn });
    if (this.replication.task)
      new TerraformOutput(this, 'replication_task_arn', { value: this.replication.task.replicationTaskArn });
    if (this.replication.tasks.length > 1)
      new TerraformOutput(this, 'replication_task_arns', {
        value: this.replication.tasks.map((t) => t.replicationTaskArn),
      });
  }
}
